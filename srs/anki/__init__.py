"""Exchange with Anki: .apkg export (genanki) and import of Anki packages."""
