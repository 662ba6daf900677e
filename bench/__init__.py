"""`make bench`: the product measured the way its users load it."""
