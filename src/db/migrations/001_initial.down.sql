-- Undoes 001_initial: drops the whole initial schema, and with it every row (bars_1m's partitions go
-- with their parent). Only for an empty or disposable database: a release never runs this on live data.
DROP TABLE IF EXISTS strategy_performance, strategies, positions, cash_transactions, executions, orders,
  bars_1d, bars_1m, quotes_latest, instruments, accounts, api_keys, users CASCADE;
