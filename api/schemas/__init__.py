"""marshmallow contracts, one module per resource."""
