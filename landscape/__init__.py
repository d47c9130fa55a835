"""landscape: optimizers moving over loss landscapes."""
