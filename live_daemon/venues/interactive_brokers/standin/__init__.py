"""A local stand-in for TWS / IB Gateway speaking the TWS API socket protocol (ib_async 2.1's
reading at server version 176) for the subset the adapter uses: handshake, nextValidId,
managedAccounts, placeOrder, cancelOrder, orderStatus, openOrder(+End), completedOrder(+End),
execDetails(+End), commissionReport, position(+End), reqMktData (bid/ask ticks), and the
account requests ``IB.connectAsync`` makes at startup (answered with their end message only).

:mod:`.messages` (wire layouts), :mod:`.matching` (book, fills at configured prices),
:mod:`.record` (JSON-lines journal), :mod:`.server` (asyncio TCP), :mod:`.cli` (the process:
``python -m live_daemon.venues.interactive_brokers.standin --state-dir D --price AAPL=190.5``).

Not modelled: market depth, last trades, order modification (same order id again: error
103), partial fills, other order types, account values, real IB's per-client visibility rules beyond
"open orders of this client" (reqExecutions and reqCompletedOrders answer for all clients).
This ``__init__`` imports nothing.
"""
