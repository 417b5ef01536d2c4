//! A real PostgreSQL server on 127.0.0.1 for the Postgres tests, and a fresh database per test.
//!
//! These tests never skip: without a server they fail, and say how to get one.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use url::Url;

/// The variable that names the test server; `scripts/postgres.sh start` prints it.
const URL_VAR: &str = "TITAN_WEBHOOKS_PG_URL";

/// How long to wait for the server before failing instead of hanging.
const SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// The admin URL of the test server: `TITAN_WEBHOOKS_PG_URL` if set, else the URL printed by
/// `scripts/postgres.sh start`, which is run at most once per test process.
///
/// # Panics
///
/// When neither gives a server, with a message that says how to get one.
pub fn server_url() -> String {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    match SERVER.get_or_init(find_server) {
        Ok(url) => url.clone(),
        Err(why) => panic!("{}", unavailable(why)),
    }
}

fn find_server() -> Result<String, String> {
    if let Ok(url) = std::env::var(URL_VAR) {
        let url = url.trim();
        if !url.is_empty() {
            return Ok(url.to_owned());
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg("start")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "{URL_VAR} is not set, and `bash {} start` could not run: {e}",
                script.display()
            )
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "{URL_VAR} is not set, and `{} start` failed ({}):\n{}",
            script.display(),
            output.status,
            stderr.trim_end()
        ));
    }
    let prefix = format!("export {URL_VAR}=");
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .map(|url| url.trim_matches(['\'', '"']).to_owned())
        .ok_or_else(|| {
            format!(
                "`{} start` succeeded but printed no `{prefix}...` line.\nstdout:\n{stdout}\nstderr:\n{stderr}",
                script.display()
            )
        })
}

/// Where the server's URL came from, for messages.
fn origin() -> String {
    if std::env::var(URL_VAR).is_ok_and(|url| !url.trim().is_empty()) {
        format!(" (from {URL_VAR})")
    } else {
        " (started by scripts/postgres.sh)".to_owned()
    }
}

/// The loud failure: a Postgres test without a server is a failed test, never a skipped one.
fn unavailable(why: &str) -> String {
    let rule = "=".repeat(78);
    let mut message = String::new();
    let _ = write!(
        message,
        "\n{rule}\n\
         NO POSTGRESQL SERVER FOR THE POSTGRES TESTS\n\
         \n\
         These tests run against a real PostgreSQL server on 127.0.0.1. They never skip,\n\
         so without a server they fail.\n\
         \n\
         What went wrong:\n  {}\n\
         \n\
         To fix it, either\n\
         \x20 * start the project's throwaway server (installs PostgreSQL with apt-get if needed):\n\
         \x20     scripts/postgres.sh install && eval \"$(scripts/postgres.sh start)\"\n\
         \x20 * or point {URL_VAR} at a server whose user may create databases:\n\
         \x20     export {URL_VAR}=postgres://USER@127.0.0.1:PORT/postgres\n\
         {rule}\n",
        why.replace('\n', "\n  ")
    );
    message
}

/// A fresh, empty database on the test server, dropped again when this value is dropped.
///
/// Each one has a unique name, so tests running in parallel never share tables.
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
}

/// Shows the name only: the URLs may carry a password.
impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// Creates the database.
    ///
    /// # Panics
    ///
    /// When there is no server or it refuses, with the server's error.
    pub async fn create() -> TestDatabase {
        let admin_url = server_url();
        let name = format!("titan_test_{}", uuid::Uuid::new_v4().simple());
        let url =
            database_url(&admin_url, &name).unwrap_or_else(|why| panic!("{}", unavailable(&why)));
        let created = tokio::time::timeout(SERVER_TIMEOUT, async {
            let mut conn = PgConnection::connect(&admin_url).await.map_err(|e| {
                format!(
                    "could not connect to {}{}: {e}",
                    redacted(&admin_url),
                    origin()
                )
            })?;
            let version: i32 =
                sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| format!("could not query {}: {e}", redacted(&admin_url)))?;
            // Copying the small template's files is several times faster than the default of
            // writing it through the WAL (PostgreSQL 15 and later).
            let strategy = if version >= 150_000 {
                " STRATEGY = FILE_COPY"
            } else {
                ""
            };
            sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE DATABASE \"{name}\"{strategy}"
            )))
            .execute(&mut conn)
            .await
            .map_err(|e| {
                format!(
                    "could not create database {name} on {}: {e}",
                    redacted(&admin_url)
                )
            })?;
            let _ = conn.close().await;
            Ok::<(), String>(())
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{} did not answer within {} s",
                redacted(&admin_url),
                SERVER_TIMEOUT.as_secs()
            ))
        });
        if let Err(why) = created {
            panic!("{}", unavailable(&why));
        }
        TestDatabase {
            url,
            name,
            admin_url,
        }
    }

    /// The URL of this database: the server's URL with its name as the path.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name, `titan_test_` and 32 hex digits.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    /// Drops the database, best effort: `Drop` cannot await, so a thread with its own runtime does
    /// it, and a failure only leaves a database behind on a throwaway server.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropper = std::thread::Builder::new()
            .name("drop-test-database".into())
            .spawn(move || -> Result<(), String> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    tokio::time::timeout(SERVER_TIMEOUT, async {
                        let mut conn = PgConnection::connect(&admin_url)
                            .await
                            .map_err(|e| e.to_string())?;
                        sqlx::raw_sql(AssertSqlSafe(sql))
                            .execute(&mut conn)
                            .await
                            .map_err(|e| e.to_string())?;
                        let _ = conn.close().await;
                        Ok(())
                    })
                    .await
                    .unwrap_or_else(|_| Err("the server did not answer".to_owned()))
                })
            });
        let outcome = match dropper {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|_| Err("the thread panicked".to_owned())),
            Err(e) => Err(e.to_string()),
        };
        if let Err(why) = outcome {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not drop test database {}: {why}",
                self.name
            );
        }
    }
}

/// The server's URL with `name` as the database: same user, host, port and options.
fn database_url(admin_url: &str, name: &str) -> Result<String, String> {
    let mut url = Url::parse(admin_url)
        .map_err(|e| format!("{URL_VAR} is not a URL ({e}): {}", redacted(admin_url)))?;
    // A `dbname` option would override the path.
    let options: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != "dbname")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.set_path(&format!("/{name}"));
    url.set_query(None);
    if !options.is_empty() {
        url.query_pairs_mut().extend_pairs(options);
    }
    Ok(url.into())
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() || parsed.query().is_some() => {
            let _ = parsed.set_password(Some("****"));
            // A password may also come as `?password=`.
            parsed.set_query(None);
            parsed.into()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(not a URL)".to_owned(),
    }
}
