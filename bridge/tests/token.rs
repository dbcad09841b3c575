//! The token file: created once with owner-only permissions, then read back.

#[test]
fn token_is_created_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = bridge::token::load_or_create(&data).unwrap();
    assert_eq!(first.len(), 64);
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    let second = bridge::token::load_or_create(&data).unwrap();
    assert_eq!(first, second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("bridge-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No temp file left behind.
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 1);
}

#[test]
fn an_existing_token_is_used_and_an_empty_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bridge-token"), "  mytoken\n").unwrap();
    assert_eq!(
        bridge::token::load_or_create(dir.path()).unwrap(),
        "mytoken"
    );
    std::fs::write(dir.path().join("bridge-token"), "\n").unwrap();
    let e = bridge::token::load_or_create(dir.path()).unwrap_err();
    assert!(e.to_string().contains("bridge-token"), "{e}");
}
