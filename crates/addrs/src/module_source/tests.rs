//! Cases taken from Terraform 1.11.4's `moduleaddrs` and `tfaddr` tests, so the normalised
//! strings match what Terraform records in `modules.json`.

use super::*;

fn remote(input: &str) -> (String, String) {
    match parse_module_source(input) {
        Ok(ModuleSource::Remote(r)) => (r.package, r.subdir),
        other => panic!("{input}: {other:?}"),
    }
}

fn err(input: &str) -> String {
    parse_module_source(input).unwrap_err().to_string()
}

#[test]
fn local_paths_are_cleaned() {
    for (input, want) in [
        ("./child", "./child"),
        ("./nope/../child", "./child"),
        ("../sibling", "../sibling"),
        ("./nope/../../sibling", "../sibling"),
        (".\\child", "./child"),
        (".\\nope\\..\\..\\sibling", "../sibling"),
        (
            "./nope\\nope/why\\./please\\don't",
            "./nope/nope/why/please/don't",
        ),
        ("./", "./."),
    ] {
        assert_eq!(
            parse_module_source(input).unwrap(),
            ModuleSource::Local(want.into()),
            "{input}"
        );
    }
}

#[test]
fn registry_addresses() {
    for (input, string, display, protocol) in [
        (
            "hashicorp/consul/aws",
            "registry.terraform.io/hashicorp/consul/aws",
            "hashicorp/consul/aws",
            "hashicorp/consul/aws",
        ),
        (
            "hashicorp/consul/aws//foo",
            "registry.terraform.io/hashicorp/consul/aws//foo",
            "hashicorp/consul/aws//foo",
            "hashicorp/consul/aws",
        ),
        (
            "registry.terraform.io/hashicorp/consul/aws",
            "registry.terraform.io/hashicorp/consul/aws",
            "hashicorp/consul/aws",
            "hashicorp/consul/aws",
        ),
        (
            "HashiCorp/Consul/aws",
            "registry.terraform.io/HashiCorp/Consul/aws",
            "HashiCorp/Consul/aws",
            "HashiCorp/Consul/aws",
        ),
        (
            "Example.com:1234/HashiCorp/Consul/aws",
            "example.com:1234/HashiCorp/Consul/aws",
            "example.com:1234/HashiCorp/Consul/aws",
            "HashiCorp/Consul/aws",
        ),
        (
            "example.com:443/a/b/c",
            "example.com/a/b/c",
            "example.com/a/b/c",
            "a/b/c",
        ),
        (
            "127.0.0.1:8443/acme/net/aws",
            "127.0.0.1:8443/acme/net/aws",
            "127.0.0.1:8443/acme/net/aws",
            "acme/net/aws",
        ),
        (
            "Испытание.com/HashiCorp/Consul/aws",
            "испытание.com/HashiCorp/Consul/aws",
            "испытание.com/HashiCorp/Consul/aws",
            "HashiCorp/Consul/aws",
        ),
    ] {
        let r = parse_module_source_registry(input).unwrap();
        assert_eq!(r.to_string(), string, "{input}");
        assert_eq!(r.for_display(), display, "{input}");
        assert_eq!(r.package.for_registry_protocol(), protocol, "{input}");
        assert!(matches!(
            parse_module_source(input),
            Ok(ModuleSource::Registry(_))
        ));
    }
}

#[test]
fn registry_errors() {
    for (input, want) in [
        ("---.com/HashiCorp/Consul/aws", "invalid module registry hostname \"---.com\"; internationalized domain names must be given as direct unicode characters, not in punycode"),
        ("foo/var/baz/qux", "invalid module registry hostname: must contain at least one dot"),
        ("foo/var/no-no-no", "invalid target system \"no-no-no\": must be between one and 64 ASCII letters or digits"),
        ("boop!/var/baz", "invalid namespace \"boop!\": must be between one and 64 characters, including ASCII letters, digits, dashes, and underscores, where dashes and underscores may not be the prefix or suffix"),
        ("foo.com/var/baz", "source address must have three more components after the hostname: the namespace, the name, and the target system"),
        ("foo/var/baz?otherthing", "module registry addresses may not include a query string portion"),
        ("github.com/HashiCorp/Consul/aws", "can't use \"github.com\" as a module registry host, because it's reserved for installing directly from version control repositories"),
        ("bitbucket.org/HashiCorp/Consul/aws", "can't use \"bitbucket.org\" as a module registry host, because it's reserved for installing directly from version control repositories"),
        ("./boop", "can't use local directory \"./boop\" as a module registry address"),
        ("hashicorp/subnets/cidr//../nope", "subdirectory path \"../nope\" leads outside of the module package"),
        ("a/b", "a module registry source address must have either three or four slash-separated components"),
    ] {
        assert_eq!(parse_module_source_registry(input).unwrap_err().to_string(), want, "{input}");
    }
}

#[test]
fn remote_packages_are_normalised() {
    for (input, pkg, sub) in [
        (
            "github.com/hashicorp/terraform-cidr-subnets",
            "git::https://github.com/hashicorp/terraform-cidr-subnets.git",
            "",
        ),
        (
            "github.com/hashicorp/terraform-cidr-subnets//example/foo",
            "git::https://github.com/hashicorp/terraform-cidr-subnets.git",
            "example/foo",
        ),
        (
            "github.com/org/repo?ref=v1.2.0",
            "git::https://github.com/org/repo.git?ref=v1.2.0",
            "",
        ),
        (
            "github.com/org/repo//sub?ref=v1",
            "git::https://github.com/org/repo.git?ref=v1",
            "sub",
        ),
        (
            "github.com/org/repo/sub",
            "git::https://github.com/org/repo.git",
            "sub",
        ),
        (
            "github.com/org/repo.git",
            "git::https://github.com/org/repo.git",
            "",
        ),
        (
            "git@github.com:org/repo.git",
            "git::ssh://git@github.com/org/repo.git",
            "",
        ),
        (
            "git@github.com:org/repo.git?ref=feature/x",
            "git::ssh://git@github.com/org/repo.git?ref=feature%2Fx",
            "",
        ),
        (
            "git@github.com:org/repo.git//modules/vpc?ref=v2&depth=1",
            "git::ssh://git@github.com/org/repo.git?depth=1&ref=v2",
            "modules/vpc",
        ),
        (
            "git::git@example.com:code/baz.git",
            "git::ssh://git@example.com/code/baz.git",
            "",
        ),
        (
            "git::git@example.com:code/baz.git//bleep/bloop",
            "git::ssh://git@example.com/code/baz.git",
            "bleep/bloop",
        ),
        (
            "git://example.com/code/baz.git",
            "git://example.com/code/baz.git",
            "",
        ),
        (
            "git://example.com/code/baz.git//bleep/bloop",
            "git://example.com/code/baz.git",
            "bleep/bloop",
        ),
        (
            "git::https://example.com/code/baz.git",
            "git::https://example.com/code/baz.git",
            "",
        ),
        (
            "git::https://example.com/code/baz.git//bleep/bloop?otherthing=blah",
            "git::https://example.com/code/baz.git?otherthing=blah",
            "bleep/bloop",
        ),
        (
            "git::ssh://git@example.com/code/baz.git//bleep/bloop",
            "git::ssh://git@example.com/code/baz.git",
            "bleep/bloop",
        ),
        (
            "git::file:///srv/repo.git?ref=v1&depth=1",
            "git::file:///srv/repo.git?ref=v1&depth=1",
            "",
        ),
        (
            "bitbucket.org/org/repo",
            "git::https://bitbucket.org/org/repo.git",
            "",
        ),
        (
            "www.googleapis.com/storage/v1/BUCKET_NAME/PATH_TO_MODULE",
            "gcs::https://www.googleapis.com/storage/v1/BUCKET_NAME/PATH_TO_MODULE",
            "",
        ),
        (
            "s3-eu-west-1.amazonaws.com/examplecorp-terraform-modules/vpc.zip",
            "s3::https://s3-eu-west-1.amazonaws.com/examplecorp-terraform-modules/vpc.zip",
            "",
        ),
        (
            "https://example.com/module?archive=tar&checksum=blah",
            "https://example.com/module?archive=tar&checksum=blah",
            "",
        ),
        (
            "https://example.com/module.zip",
            "https://example.com/module.zip",
            "",
        ),
        ("/tmp/foo/example", "file:///tmp/foo/example", ""),
        ("/tmp/foo//example", "file:///tmp/foo", "example"),
        (
            "dfgdfgsd:dgfhdfghdfghdfg/dfghdfghdfg",
            "dfgdfgsd:dgfhdfghdfghdfg/dfghdfghdfg",
            "",
        ),
    ] {
        assert_eq!(remote(input), (pkg.to_string(), sub.to_string()), "{input}");
    }
}

#[test]
fn remote_display_puts_subdir_before_query() {
    for input in [
        "git::https://example.com/code/baz.git?otherthing=blah",
        "git::https://example.com/code/baz.git//bleep/bloop?otherthing=blah",
    ] {
        assert_eq!(parse_module_source(input).unwrap().to_string(), input);
    }
    assert_eq!(
        parse_module_source("github.com/org/repo//sub?ref=v1")
            .unwrap()
            .to_string(),
        "git::https://github.com/org/repo.git//sub?ref=v1"
    );
}

#[test]
fn remote_errors() {
    assert_eq!(
        err("boop/bloop"),
        "Terraform cannot detect a supported external module source type for boop/bloop"
    );
    assert!(matches!(
        parse_module_source("example.com/foo/bar.zip"),
        Err(ModuleSourceError::MaybeRelativePath(_))
    ));
    assert_eq!(
        err("/tmp/foo//example/../../invalid"),
        "subdirectory path \"../invalid\" leads outside of the module package"
    );
    assert_eq!(
        err("github.com/org"),
        "GitHub URLs should be github.com/username/repo"
    );
}

#[test]
fn registry_subdir_combines_with_registry_answer() {
    let given = parse_module_source_registry("a/b/c//bar").unwrap();
    let from = |sub: &str| RemoteSource {
        package: "boop".into(),
        subdir: sub.into(),
    };
    assert_eq!(from("foo").from_registry(&given).subdir, "foo/bar");
    assert_eq!(from("").from_registry(&given).subdir, "bar");
    let plain = parse_module_source_registry("a/b/c").unwrap();
    assert_eq!(from("foo").from_registry(&plain).subdir, "foo");
}

#[test]
fn go_path_clean() {
    for (i, o) in [
        ("", "."),
        ("a/../..", ".."),
        ("/../a", "/a"),
        ("a//b/./c/", "a/b/c"),
        ("./", "."),
    ] {
        assert_eq!(clean_path(i), o, "{i}");
    }
}
