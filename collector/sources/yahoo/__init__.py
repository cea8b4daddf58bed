"""Yahoo Finance through the real yfinance client: limits, pacing, the HTTP session, the source."""
