"""Digit classifier recipes: SC09 and its demo corpus (the judge of the SC09 generators)."""
