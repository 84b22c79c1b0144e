-- schema version 6, built by srs/db.py MIGRATIONS (regenerate: SRS_WRITE_SCHEMA=1 pytest tests/test_db.py)
CREATE TABLE anki_notetypes ( id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, cloze BOOLEAN NOT NULL, fields JSON NOT NULL, templates JSON NOT NULL, css TEXT NOT NULL );
CREATE TABLE cards ( id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL REFERENCES notes(id), ord INTEGER NOT NULL, deck_id INTEGER NOT NULL REFERENCES decks(id), state INTEGER NOT NULL, step INTEGER, stability FLOAT, difficulty FLOAT, due BIGINT, last_review BIGINT, reps INTEGER NOT NULL, lapses INTEGER NOT NULL, suspended BOOLEAN NOT NULL, position INTEGER NOT NULL, created BIGINT NOT NULL, modified BIGINT NOT NULL, anki_schedule JSON, buried_until INTEGER, reset_at BIGINT, UNIQUE (note_id, ord));
CREATE TABLE decks ( id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, preset_id INTEGER NOT NULL REFERENCES presets(id), source VARCHAR, description TEXT NOT NULL, anki_id BIGINT NOT NULL UNIQUE, created BIGINT NOT NULL, guide VARCHAR);
CREATE TABLE notes ( id INTEGER PRIMARY KEY, guid VARCHAR NOT NULL UNIQUE, kind VARCHAR NOT NULL, fields JSON NOT NULL, tags JSON NOT NULL, source VARCHAR, source_key VARCHAR, orphaned BOOLEAN NOT NULL, created BIGINT NOT NULL, modified BIGINT NOT NULL, anki_notetype_id INTEGER REFERENCES anki_notetypes(id), anki_fields JSON, edited BIGINT);
CREATE TABLE presets ( id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, desired_retention FLOAT NOT NULL, parameters JSON NOT NULL, learning_steps JSON NOT NULL, relearning_steps JSON NOT NULL, maximum_interval INTEGER NOT NULL);
CREATE TABLE removed_reviews ( id INTEGER PRIMARY KEY, guid VARCHAR NOT NULL, ord INTEGER NOT NULL, removed_at BIGINT NOT NULL, reviewed_at BIGINT NOT NULL, rating INTEGER NOT NULL, duration_ms INTEGER NOT NULL, anki_ivl INTEGER, anki_last_ivl INTEGER, anki_factor INTEGER, anki_type INTEGER);
CREATE TABLE reviews ( id INTEGER PRIMARY KEY, card_id INTEGER NOT NULL REFERENCES cards(id), reviewed_at BIGINT NOT NULL, rating INTEGER NOT NULL, duration_ms INTEGER NOT NULL, prev_state INTEGER NOT NULL, state INTEGER NOT NULL, step INTEGER, stability FLOAT NOT NULL, difficulty FLOAT NOT NULL, due BIGINT NOT NULL, interval INTEGER NOT NULL DEFAULT 0, last_interval INTEGER NOT NULL DEFAULT 0, anki_ivl INTEGER, anki_last_ivl INTEGER, anki_factor INTEGER, anki_type INTEGER);
CREATE TABLE settings (key VARCHAR PRIMARY KEY, value JSON NOT NULL);
CREATE TABLE stories ( note_id INTEGER PRIMARY KEY REFERENCES notes(id), competencies JSON NOT NULL, impact INTEGER, scope INTEGER, involvement INTEGER, favorite BOOLEAN NOT NULL);
CREATE TABLE story_links ( story_id INTEGER NOT NULL REFERENCES notes(id), question_id INTEGER NOT NULL REFERENCES notes(id), created BIGINT NOT NULL, PRIMARY KEY (story_id, question_id));
CREATE INDEX ix_cards_deck ON cards (deck_id);
CREATE INDEX ix_cards_queue ON cards (suspended, state, due);
CREATE INDEX ix_notes_source ON notes (source);
CREATE INDEX ix_removed_reviews_card ON removed_reviews (guid, ord);
CREATE INDEX ix_reviews_card ON reviews (card_id, reviewed_at);
CREATE UNIQUE INDEX ix_reviews_time ON reviews (reviewed_at);
CREATE INDEX ix_story_links_question ON story_links (question_id);
