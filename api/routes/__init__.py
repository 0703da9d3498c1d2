"""One module per resource; routes stay thin and call query functions."""
