"""Position accounting shared by backtest results and the live position tracker."""
