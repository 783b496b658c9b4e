"""The dashboard: `censorscope serve` (app), its pages (pages)."""
