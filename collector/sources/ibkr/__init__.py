"""Interactive Brokers through ib_insync: connection and client ids, pacing, error codes, the source."""
