-- The slug book: the ltree label given to each project, persisted so that a slug never changes
-- once given (the reference assigns slugs per run, reference-importer.md section 13, item 5).

create table memtree_projects (
    -- The project's git root, else its working directory.
    project_key text primary key,
    slug text not null unique,
    git_remote text,
    created_at timestamptz not null default now()
);
