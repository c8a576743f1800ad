"""seglam as an HTTP service: `seglam serve` (app.py), API keys per namespace (keys.py)."""
