"""The blueprints (API process), one module per resource."""
