"""The control helper: `server` runs outside the censored network, `client` asks it."""
