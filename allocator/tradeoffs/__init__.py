"""tradeoffs."""
