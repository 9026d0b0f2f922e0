"""EVALUATE implementations: each scores how far to trust one pilot estimate."""
