"""Real orders on a Binance spot venue: its symbol filters, client order ids, the signed REST client
the executor places through, and a double that speaks the same protocol on 127.0.0.1."""
