//! STUB: the PostgreSQL store (to be written): migrations, slug book, classification, writes.
