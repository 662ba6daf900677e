"""The rules of the product: plain functions called by api/, cli/ and assistant/."""
