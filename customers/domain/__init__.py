"""Pure customer rules (tax ids), free of models and the database."""
