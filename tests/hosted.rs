//! The `memtree` binary against PostgreSQL as hosted providers run it: TLS-only with certificates
//! made at test time, scram-sha-256 passwords from `~/.pgpass`, a service file, several hosts, a
//! server that never answers, PgBouncer in transaction mode, and roles that may not create
//! anything. Every server is started by the harness (tests/common): a [`common::TlsCluster`]
//! shared by the binary's tests, and PgBouncers in front of it.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    clean_sources, memtree_command, query_value, written, Pgbouncer, Run, TestCa, TlsCluster,
    CERTIFICATE_ROLE, PASSWORD, PASSWORD_ROLE,
};

/// A database of its own on the TLS cluster, owned by `owner`, and a private HOME.
struct Scene {
    cluster: &'static TlsCluster,
    db: common::TestDb,
    home: tempfile::TempDir,
}

impl Scene {
    fn new(name: &str, owner: &str) -> Scene {
        let cluster = TlsCluster::get();
        Scene {
            cluster,
            db: cluster.database(name, owner),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// `postgresql://<userinfo>@<host>:<port>/<db>?<query>` on the cluster's TLS port.
    fn url(&self, userinfo: &str, host: &str, query: &str) -> String {
        format!(
            "postgresql://{userinfo}@{host}:{}/{}?{query}",
            self.cluster.port, self.db.name
        )
    }

    /// `postgresql://<userinfo>@127.0.0.1:<port>/<db>` through `bouncer`.
    fn pooled_url(&self, bouncer: &Pgbouncer, userinfo: &str) -> String {
        format!(
            "postgresql://{userinfo}@127.0.0.1:{}/{}",
            bouncer.port, self.db.name
        )
    }

    /// Runs `sql` in the scene's database as the administrator.
    fn sql(&self, sql: &str) {
        self.cluster.sql_in(&self.db.name, sql);
    }

    /// The URL `role` connects to the scene's database with over the cluster's socket.
    fn socket_url(&self, role: &str) -> String {
        self.cluster.socket_url(role, &self.db.name)
    }

    /// Creates `role`, which may log in and nothing else; its [`Scene::socket_url`].
    fn login_role(&self, role: &str) -> String {
        self.cluster.admin_sql(&format!("create role {role} login"));
        self.socket_url(role)
    }

    /// Runs the statements a refusal tells an administrator to run (its `message`): the import
    /// with `url` then writes rows.
    fn run_the_printed_statements(&self, message: &str, url: &str, context: &str) {
        self.sql(&printed_statements(message));
        assert!(written(&self.import(url, &[]).succeeded_as(context)).0 > 0);
    }

    /// `codex import --json` of the clean codex fixtures with `--database-url url` (unless
    /// empty) and the variables `vars`.
    fn import(&self, url: &str, vars: &[(&str, &str)]) -> Run {
        let mut command = memtree_command(self.home());
        command.args(["codex", "import", "--json", "--include-trivial"]);
        if !url.is_empty() {
            command.args(["--database-url", url]);
        }
        command.arg("--source").args(clean_sources("codex"));
        for (name, value) in vars {
            command.env(name, value);
        }
        Run::of_command(&mut command)
    }

    /// `codex import --json` of the codex fixtures `sources` into schema `memories` with `url`.
    fn import_into_memories(&self, url: &str, sources: &[String]) -> Run {
        Run::of_command(
            memtree_command(self.home())
                .args([
                    "codex",
                    "import",
                    "--json",
                    "--include-trivial",
                    "--schema",
                    "memories",
                ])
                .args(["--database-url", url, "--source"])
                .args(sources),
        )
    }

    async fn rows(&self) -> i64 {
        query_value(&self.db.client().await, "select count(*) from public.memory", &[]).await
    }

    /// Writes `~/.pgpass` with `text` and `mode`.
    fn pgpass(&self, text: &str, mode: u32) {
        let path = self.home().join(".pgpass");
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// A run that must have failed with exit code 2, and its message; no password in any output.
fn refused(run: &Run, context: &str) -> String {
    println!("{context}:\n{}", run.stderr);
    assert_eq!(run.code, 2, "{context}: {}\n{}", run.stdout, run.stderr);
    for output in [&run.stdout, &run.stderr] {
        assert!(
            !output.contains(PASSWORD),
            "{context}: a password is shown:\n{output}"
        );
    }
    run.stderr.clone()
}

fn assert_says(message: &str, expected: &[&str]) {
    for part in expected {
        assert!(message.contains(part), "expected {part:?} in:\n{message}");
    }
}

#[tokio::test]
async fn tls_only_servers_take_require_and_allow_and_refuse_disable_with_the_fix() {
    let scene = Scene::new("tls_modes", PASSWORD_ROLE);
    let user = format!("{PASSWORD_ROLE}:{PASSWORD}");

    let report = scene
        .import(&scene.url(&user, "127.0.0.1", "sslmode=require"), &[])
        .succeeded_as("sslmode=require");
    let (inserted, _, _) = written(&report);
    assert!(inserted > 0);
    assert_eq!(scene.rows().await as u64, inserted);
    assert!(
        !report.to_string().contains(PASSWORD),
        "the report never shows the password"
    );

    for mode in ["allow", "prefer"] {
        let report = scene
            .import(&scene.url(&user, "127.0.0.1", &format!("sslmode={mode}")), &[])
            .succeeded_as(mode);
        assert_eq!(written(&report).0, 0, "{mode}: the re-run writes nothing");
    }

    let message = refused(
        &scene.import(&scene.url(&user, "127.0.0.1", "sslmode=disable"), &[]),
        "sslmode=disable",
    );
    assert_says(
        &message,
        &[
            "no pg_hba.conf entry",
            "no encryption",
            "the server accepts only encrypted connections and sslmode is disable: connect with sslmode=require",
        ],
    );
    let message = refused(
        &scene.import(&scene.url(&user, "127.0.0.1", ""), &[("PGSSLMODE", "disable")]),
        "PGSSLMODE=disable",
    );
    assert_says(&message, &["connect with sslmode=require"]);
}

#[tokio::test]
async fn verify_modes_check_the_authority_and_the_host_name() {
    let scene = Scene::new("tls_verify", PASSWORD_ROLE);
    let user = format!("{PASSWORD_ROLE}:{PASSWORD}");
    let ca = scene.cluster.ca_file.display().to_string();

    scene
        .import(
            &scene.url(&user, "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")),
            &[],
        )
        .succeeded_as("verify-ca by address");
    scene
        .import(
            &scene.url(
                &user,
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            &[],
        )
        .succeeded_as("verify-full by a name the certificate lists");
    scene
        .import(
            &scene.url(
                &user,
                "db.memtree.test",
                &format!("hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"),
            ),
            &[],
        )
        .succeeded_as("verify-full by a name that does not resolve, with hostaddr");
    scene
        .import(
            &scene.url(&user, "localhost", ""),
            &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca)],
        )
        .succeeded_as("verify-full from PGSSLMODE and PGSSLROOTCERT");

    let message = refused(
        &scene.import(
            &scene.url(
                &user,
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            &[],
        ),
        "verify-full by an address the certificate does not list",
    );
    assert_says(
        &message,
        &[
            "certificate not valid for name \"127.0.0.1\"",
            "the server's certificate does not name the host connected to: connect with a host name the certificate lists",
            "sslmode=verify-ca",
        ],
    );

    let stranger = scene.home().join("other-ca.crt");
    fs::write(&stranger, TestCa::new("some other CA").pem()).unwrap();
    let message = refused(
        &scene.import(
            &scene.url(
                &user,
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={}", stranger.display()),
            ),
            &[],
        ),
        "verify-full with another authority",
    );
    assert_says(
        &message,
        &[
            "UnknownIssuer",
            &format!(
                "the server's certificate is not signed by an authority trusted by sslrootcert {}",
                stranger.display()
            ),
            "give the certificate of the authority that signed it with sslrootcert=/path/to/ca.pem",
        ],
    );

    let message = refused(
        &scene.import(&scene.url(&user, "localhost", "sslmode=verify-full"), &[]),
        "verify-full without a root certificate",
    );
    assert_says(
        &message,
        &[
            "sslmode=verify-full checks the server's certificate, which needs the authority that signed it: give sslrootcert=/path/to/ca.pem, or sslrootcert=system",
            ".postgresql/root.crt does not exist",
        ],
    );
}

#[tokio::test]
async fn a_client_certificate_logs_in_and_its_absence_is_explained() {
    let scene = Scene::new("tls_client_cert", CERTIFICATE_ROLE);
    let cluster = scene.cluster;
    let query = format!(
        "sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        cluster.ca_file.display(),
        cluster.client_cert.display(),
        cluster.client_key.display()
    );
    let report = scene
        .import(&scene.url(CERTIFICATE_ROLE, "localhost", &query), &[])
        .succeeded_as("client certificate");
    assert!(written(&report).0 > 0);

    let message = refused(
        &scene.import(
            &scene.url(
                CERTIFICATE_ROLE,
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={}", cluster.ca_file.display()),
            ),
            &[],
        ),
        "no client certificate",
    );
    assert_says(
        &message,
        &["the server authenticates this user by client certificate: give one signed by an authority the server trusts, with sslcert="],
    );
}

#[tokio::test]
async fn scram_passwords_come_from_the_password_file_and_failures_name_their_source() {
    let scene = Scene::new("pgpass", PASSWORD_ROLE);
    let port = scene.cluster.port;
    let url = scene.url(PASSWORD_ROLE, "localhost", "sslmode=require");

    scene.pgpass(&format!("localhost:{port}:*:{PASSWORD_ROLE}:{PASSWORD}\n"), 0o600);
    let report = scene.import(&url, &[]).succeeded_as("password from ~/.pgpass");
    assert!(written(&report).0 > 0);

    scene.pgpass(&format!("localhost:{port}:*:{PASSWORD_ROLE}:{PASSWORD}\n"), 0o640);
    let message = refused(&scene.import(&url, &[]), "a password file others may read");
    assert_says(
        &message,
        &[
            "has group or world access; permissions should be u=rw (0600) or less: ignored",
            "the server asks for a password and none was found: give it in ~/.pgpass",
        ],
    );

    scene.pgpass(
        &format!("# memtree\nlocalhost:{port}:*:{PASSWORD_ROLE}:not-the-password\n"),
        0o600,
    );
    let run = scene.import(&url, &[]);
    let message = refused(&run, "a wrong password in ~/.pgpass");
    assert_says(
        &message,
        &[
            &format!("password authentication failed for user \"{PASSWORD_ROLE}\""),
            &format!(
                "the password came from {}/.pgpass line 2: correct it there",
                scene.home().display()
            ),
        ],
    );
    assert!(!message.contains("not-the-password"), "{message}");

    let message = refused(
        &scene.import(
            &scene.url(
                &format!("{PASSWORD_ROLE}:wrong-secret"),
                "localhost",
                "sslmode=require",
            ),
            &[],
        ),
        "a wrong password in the URL",
    );
    assert_says(
        &message,
        &["the password came from the connection string of --database-url"],
    );
    assert!(!message.contains("wrong-secret"), "{message}");
    let message = refused(
        &scene.import(
            &url,
            &[("PGPASSWORD", "wrong-secret"), ("PGPASSFILE", "/nonexistent")],
        ),
        "a wrong PGPASSWORD",
    );
    assert_says(&message, &["the password came from PGPASSWORD"]);
}

#[tokio::test]
async fn a_service_file_names_the_server() {
    let scene = Scene::new("service", PASSWORD_ROLE);
    let port = scene.cluster.port;
    fs::write(
        scene.home().join(".pg_service.conf"),
        format!(
            "[memtree]\nhost=localhost\nport={port}\ndbname={}\nuser={PASSWORD_ROLE}\nsslmode=verify-full\nsslrootcert={}\n",
            scene.db.name,
            scene.cluster.ca_file.display()
        ),
    )
    .unwrap();
    scene.pgpass(&format!("localhost:{port}:*:{PASSWORD_ROLE}:{PASSWORD}\n"), 0o600);
    let report = scene
        .import("", &[("PGSERVICE", "memtree")])
        .succeeded_as("PGSERVICE");
    assert!(written(&report).0 > 0);
    let report = scene
        .import("postgresql:///?service=memtree", &[])
        .succeeded_as("service= in the URL");
    assert_eq!(written(&report).0, 0);
}

#[tokio::test]
async fn several_hosts_are_tried_in_order() {
    let scene = Scene::new("hosts", PASSWORD_ROLE);
    let nothing_there = common::free_port();
    let url = format!(
        "postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:{nothing_there},localhost:{}/{}?sslmode=require&target_session_attrs=read-write",
        scene.cluster.port, scene.db.name
    );
    assert!(written(&scene.import(&url, &[]).succeeded_as("second host")).0 > 0);
    let primary = url.replace("read-write", "primary");
    scene
        .import(&primary, &[])
        .succeeded_as("target_session_attrs=primary");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_the_fix() {
    // Accepts connections (the kernel completes them) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let home = tempfile::tempdir().unwrap();
    let url = format!(
        "postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:{}/db?connect_timeout=2",
        silent.local_addr().unwrap().port()
    );
    let started = Instant::now();
    let run = Run::of_command(memtree_command(home.path()).args([
        "codex",
        "import",
        "--database-url",
        &url,
        "--source",
        &clean_sources("codex")[0],
    ]));
    let message = refused(&run, "a silent server");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_says(
        &message,
        &[
            "no answer within 2 s",
            "the server did not answer within 2 s (connect_timeout): check the host and port",
        ],
    );
}

/// tokio-postgres prepares a named statement for `query`, `execute` and their kin, and uses it
/// after the `Sync` that ends its transaction as a pooler sees it: through PgBouncer in
/// transaction mode the next message may reach another server connection. The store issues
/// every statement unnamed, in one round trip (`query_typed`, `execute_typed`,
/// `batch_execute`).
#[test]
fn the_store_prepares_no_named_statement() {
    let named = regex::Regex::new(
        r"\.(query|query_one|query_opt|query_raw|execute|execute_raw|prepare|prepare_typed|prepare_cached)\s*\(",
    )
    .unwrap();
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let mut found = Vec::new();
    for entry in fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        let production = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        for (index, line) in production.lines().enumerate() {
            if named.is_match(line) && !line.trim_start().starts_with("//") {
                found.push(format!("{}:{}: {}", path.display(), index + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "named statements:\n{}", found.join("\n"));
    assert!(named.is_match("client.query(&sql, &[])") && !named.is_match("client.query_typed(&sql, &[])"));
}

#[tokio::test]
async fn imports_through_pgbouncer_in_transaction_mode_rerun_and_run_concurrently() {
    let scene = Scene::new("pooled", PASSWORD_ROLE);
    let bouncer = Pgbouncer::start(scene.cluster, "transaction", &[(PASSWORD_ROLE, PASSWORD)]);
    // The README's pooler example: no password in the URL, one in ~/.pgpass.
    let url = scene.pooled_url(&bouncer, PASSWORD_ROLE);
    scene.pgpass(
        &format!("127.0.0.1:{}:*:{PASSWORD_ROLE}:{PASSWORD}\n", bouncer.port),
        0o600,
    );

    let report = scene.import(&url, &[]).succeeded_as("through PgBouncer");
    let (inserted, _, _) = written(&report);
    assert!(inserted > 0, "{}", bouncer.log());
    assert_eq!(scene.rows().await as u64, inserted);
    let report = scene.import(&url, &[]).succeeded_as("again through PgBouncer");
    assert_eq!(written(&report), (0, 0, 0), "a re-run writes nothing");

    // Two imports at once into a fresh database: the migrations, the slug book and the rows
    // are shared, and every lock they take lives in one transaction.
    let fresh = Scene::new("pooled_concurrent", PASSWORD_ROLE);
    let url = fresh.pooled_url(&bouncer, &format!("{PASSWORD_ROLE}:{PASSWORD}"));
    let spawn = || {
        memtree_command(fresh.home())
            .args([
                "codex",
                "import",
                "--json",
                "--include-trivial",
                "--database-url",
                &url,
                "--source",
            ])
            .args(clean_sources("codex"))
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let first = Run::of(first).succeeded_as("first concurrent import");
    let second = Run::of(second).succeeded_as("second concurrent import");
    assert_eq!(
        written(&first).0 + written(&second).0,
        inserted,
        "each row written once"
    );
    assert_eq!(fresh.rows().await as u64, inserted);
}

#[tokio::test]
async fn a_pooler_that_refuses_transactions_is_named() {
    let scene = Scene::new("statement_pooled", PASSWORD_ROLE);
    let bouncer = Pgbouncer::start(scene.cluster, "statement", &[(PASSWORD_ROLE, PASSWORD)]);
    let url = scene.pooled_url(&bouncer, &format!("{PASSWORD_ROLE}:{PASSWORD}"));
    let message = refused(&scene.import(&url, &[]), "statement pooling");
    assert_says(
        &message,
        &["the connection pooler refused it: memtree needs transaction or session pooling"],
    );
}

/// The statements an administrator must run, from a refusal.
fn printed_statements(message: &str) -> String {
    let after = message
        .split_once("an administrator must run, connected to database")
        .unwrap_or_else(|| panic!("no statements in:\n{message}"))
        .1;
    after
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_role_that_may_not_install_ltree_is_told_what_to_run() {
    let scene = Scene::new("restricted_ltree", "postgres");
    let url = scene.login_role("no_ltree");
    scene.sql("grant usage, create on schema public to no_ltree");

    let message = refused(&scene.import(&url, &[]), "no right to create the extension");
    assert_says(
        &message,
        &[
            "the ltree extension is not installed, and role \"no_ltree\" may not install it (only a superuser or a role with CREATE on the database may)",
            &format!("an administrator must run, connected to database \"{}\":\n    create extension if not exists ltree schema public;\nthen run the import again", scene.db.name),
        ],
    );
    scene.run_the_printed_statements(&message, &url, "once ltree is installed");
}

#[tokio::test]
async fn a_role_that_may_not_create_tables_is_told_what_to_run() {
    let scene = Scene::new("restricted_tables", "postgres");
    let url = scene.login_role("no_tables");
    scene.sql("create extension ltree");

    let message = refused(&scene.import(&url, &[]), "no right to create tables");
    assert_says(
        &message,
        &[
            "role \"no_tables\" may not create tables in schema \"public\"",
            "    grant usage, create on schema \"public\" to \"no_tables\";",
        ],
    );
    let other_schema = refused(
        &Run::of_command(
            memtree_command(scene.home())
                .args([
                    "codex",
                    "import",
                    "--schema",
                    "elsewhere",
                    "--database-url",
                    &url,
                    "--source",
                ])
                .arg(&clean_sources("codex")[0]),
        ),
        "no right to create a schema",
    );
    assert_says(
        &other_schema,
        &[
            "schema \"elsewhere\" does not exist, and role \"no_tables\" may not create it",
            "    create schema \"elsewhere\" authorization \"no_tables\";",
        ],
    );
    scene.run_the_printed_statements(&message, &url, "once granted");
}

#[tokio::test]
async fn a_table_memtree_did_not_make_is_refused_before_anything_changes() {
    let scene = Scene::new("foreign_table", "postgres");
    scene.sql("create table memory (id integer primary key, body text)");
    let url = scene.socket_url("postgres");

    let message = refused(&scene.import(&url, &[]), "a memory table of another shape");
    assert_says(
        &message,
        &[
            "table \"public\".\"memory\" exists, but memtree did not create it (its columns: id int4, body text), and migration 1 (`sql/0001_memory.sql`) must",
            "    alter table \"public\".\"memory\" rename to \"memory_before_memtree\";",
        ],
    );
    let client = scene.db.client().await;
    let history: bool = query_value(
        &client,
        "select to_regclass('public.memtree_migrations') is not null",
        &[],
    )
    .await;
    assert!(!history, "nothing was created");
    scene.run_the_printed_statements(&message, &url, "once renamed");
    let kept: i64 = query_value(&client, "select count(*) from public.memory_before_memtree", &[]).await;
    assert_eq!(kept, 0, "the other table is kept as it was");
}

#[tokio::test]
async fn a_role_with_only_select_insert_update_imports_into_a_migrated_schema() {
    let scene = Scene::new("restricted_writer", "postgres");
    let admin_url = scene.socket_url("postgres");
    let sources = clean_sources("codex");
    let (first, rest) = sources.split_first().unwrap();
    // The administrator migrates the schema (here by importing one source as the owner).
    scene
        .import_into_memories(&admin_url, std::slice::from_ref(first))
        .succeeded_as("the owner's import");
    let url = scene.login_role("writer");
    let writer_import = || scene.import_into_memories(&url, rest);

    let message = refused(&writer_import(), "no privileges at all");
    assert_says(
        &message,
        &[
            "role \"writer\" may not use schema \"memories\"",
            "    grant usage on schema \"memories\" to \"writer\";",
            "    grant select on \"memories\".\"memtree_migrations\" to \"writer\";",
            "    grant select, insert, update on \"memories\".\"memory\", \"memories\".\"memtree_import_runs\", \"memories\".\"memtree_ledger\", \"memories\".\"memtree_ledger_sessions\", \"memories\".\"memtree_projects\" to \"writer\";",
        ],
    );
    scene.sql(&printed_statements(&message));
    let report = writer_import().succeeded_as("SELECT, INSERT and UPDATE only");
    assert!(written(&report).0 > 0);

    // A transcript whose session has salvaged rows replaces them, which takes DELETE: the role
    // is told the grant, and nothing changes until it is given.
    let client = scene.db.client().await;
    let session: String = query_value(
        &client,
        "select meta->>'source_session_id' from memories.memory order by id limit 1",
        &[],
    )
    .await;
    scene.sql(&format!(
        "insert into memories.memory (id, content, meta, tree, temporal) values \
         ('01900000-0000-7000-8000-000000000001', 'a salvaged prompt', jsonb_build_object('source_tool', 'codex', \
          'source_session_id', '{session}', 'salvaged_from', '/home/u/prompts.jsonl'), \
          'projects.salvaged.agent_sessions', tstzrange(now(), now(), '[]'))"
    ));
    let rescan = || {
        Run::of_command(
            memtree_command(scene.home())
                .args(["codex", "import", "--json", "--include-trivial", "--rescan"])
                .args(["--schema", "memories", "--database-url", &url, "--source"])
                .args(&sources),
        )
    };
    let message = refused(&rescan(), "salvaged rows to replace without DELETE");
    assert_says(
        &message,
        &[
            "role \"writer\" may not delete the salvaged prompts a returned transcript replaces",
            "    grant delete on \"memories\".memory to \"writer\";",
        ],
    );
    let salvaged = "select count(*) from memories.memory where meta ? 'salvaged_from'";
    assert_eq!(query_value::<i64>(&client, salvaged, &[]).await, 1);
    scene.sql(&printed_statements(&message));
    let report = rescan().succeeded_as("once granted DELETE");
    assert_eq!(report["messages"]["written"]["superseded"], 1, "{report}");
    assert_eq!(query_value::<i64>(&client, salvaged, &[]).await, 0);
    let owner_only: bool = query_value(
        &scene.db.client().await,
        "select not has_database_privilege('writer', current_database(), 'CREATE') \
           and not has_schema_privilege('writer', 'memories', 'CREATE')",
        &[],
    )
    .await;
    assert!(owner_only, "the role still may create nothing");
}

/// A store as memtree made it before migrations 5, 6 and 7 (search vector, import runs, salvaged
/// rows' index): what an owner's import with the current memtree made, with their changes undone
/// and their history rows removed.
fn store_before_search(scene: &Scene) {
    scene.sql(
        "drop index memories.memory_salvaged_idx; \
         alter table memories.memory drop column search; \
         drop index memories.memory_time_idx; drop index memories.memory_session_idx; \
         drop statistics memories.memory_tool_stats; drop statistics memories.memory_role_stats; \
         create index memory_content_fts_idx on memories.memory \
             using gin (to_tsvector('english'::regconfig, left(content, 100000))); \
         drop table memories.memtree_import_runs; \
         delete from memories.memtree_migrations where version >= 5;",
    );
}

#[tokio::test]
async fn a_role_that_does_not_own_the_tables_gets_a_new_migration_to_run_and_can_then_search() {
    let scene = Scene::new("search_migration", "postgres");
    let admin_url = scene.socket_url("postgres");
    let sources = clean_sources("codex");
    let import = |url: &str| scene.import_into_memories(url, &sources);
    import(&admin_url).succeeded_as("the owner's import");
    store_before_search(&scene);
    let url = scene.login_role("older_writer");
    scene.sql(
        "grant usage on schema memories to older_writer; \
         grant select on memories.memtree_migrations to older_writer; \
         grant select, insert, update on memories.memory, memories.memtree_ledger, \
             memories.memtree_ledger_sessions, memories.memtree_projects to older_writer;",
    );

    let message = refused(&import(&url), "a migration that alters a table it does not own");
    assert_says(
        &message,
        &[
            "migration 5 (`sql/0005_search.sql`) changes \"memories\".\"memory\", which role \"older_writer\" does not own",
            "role \"older_writer\" may not create tables in schema \"memories\"",
            "migration 7 (`sql/0007_salvaged.sql`) changes \"memories\".\"memory\", which role \"older_writer\" does not own",
            "role \"older_writer\" may not record migrations in memtree's migration history",
            "    begin;",
            "    set local search_path to \"memories\", public;",
            "    commit;",
        ],
    );
    let client = scene.db.client().await;
    let applied: i64 = query_value(&client, "select count(*) from memories.memtree_migrations", &[]).await;
    assert_eq!(applied, 4, "nothing was applied");

    scene.sql(&printed_statements(&message));
    let applied: i64 = query_value(
        &client,
        "select max(version)::int8 from memories.memtree_migrations",
        &[],
    )
    .await;
    assert_eq!(
        applied, 7,
        "the statements applied migrations 5 and 7 as memtree records them"
    );
    // Migration 6 creates a table, which the role may now do itself: the import applies it.
    let report = import(&url).succeeded_as("once migrated by hand");
    assert_eq!(written(&report).0, 0, "the rows were already there");
    let search = Run::of_command(
        memtree_command(scene.home())
            .args(["search", "--json", "--schema", "memories", "--database-url", &url])
            .arg("codebase"),
    )
    .succeeded_as("search after the migration");
    assert!(!search["results"].as_array().unwrap().is_empty(), "{search}");

    // A role that may only read searches a migrated store.
    let reader = scene.login_role("reader");
    scene.sql(
        "grant usage on schema memories to reader; \
         grant select on all tables in schema memories to reader;",
    );
    for command in [&["search", "codebase"][..], &["status"], &["show", "019c372e"]] {
        let run = Run::of_command(memtree_command(scene.home()).args(command).args([
            "--json",
            "--schema",
            "memories",
            "--database-url",
            &reader,
        ]));
        assert_eq!(run.code, 0, "{command:?} as a reader: {}", run.stderr);
    }
}
