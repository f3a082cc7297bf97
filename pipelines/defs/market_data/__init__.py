"""Market data: instruments, signals, execution windows and windowed tick loading."""
