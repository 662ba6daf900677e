"""Reform figures: what the reform saves, kept as applications finish, read at a fixed cost."""
