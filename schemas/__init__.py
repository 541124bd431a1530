"""Wire records and topic declarations shared by every stage."""
