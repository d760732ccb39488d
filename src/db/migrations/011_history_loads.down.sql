-- Undoes 011_history_loads: instances stop noticing other processes' history loads until it is back.
DROP TABLE IF EXISTS history_loads;
