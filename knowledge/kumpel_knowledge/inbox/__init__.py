"""The inbox of what the bot missed: unknowns, unlikely questions back, refusals, ignored choices, thumbs-down."""
