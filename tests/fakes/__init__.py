"""Local stand-ins for Yahoo's chart API and IB Gateway, so the real client code runs offline."""
