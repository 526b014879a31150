from __future__ import annotations

import pytest

from keyhook.domain.netpolicy import NetworkPolicy, legacy_ipv4
from keyhook.errors import InvalidArgument

STRICT = NetworkPolicy()
SWITCHES = ("--dev", "KEYHOOK_DEV", "KEYHOOK_ACTIONS_ALLOW_HOSTS")


def refusal(policy: NetworkPolicy, url: str, field: str = "endpoint") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        policy.check_endpoint(url, field)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/keyhook",
        "https://hooks.example.com:8443/a?b=c",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",
    ],
)
def test_https_to_public_hosts_is_accepted(url: str) -> None:
    STRICT.check_endpoint(url)


def test_plain_http_is_refused_with_a_message_naming_both_switches() -> None:
    error = refusal(STRICT, "http://hooks.example.com/keyhook")
    assert error.message.startswith("endpoint: ")
    assert "http://" in error.message
    for switch in SWITCHES:
        assert switch in error.message
    assert error.details[0]["field"] == "endpoint"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.9.9.9/hook",
        "https://10.0.0.5/hook",
        "https://172.16.3.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",  # link-local, cloud metadata
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",  # carrier-grade NAT
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
        "https://[::ffff:10.0.0.1]/hook",
        "https://224.0.0.1/hook",
    ],
)
def test_non_public_addresses_are_refused_naming_the_switches(url: str) -> None:
    error = refusal(STRICT, url)
    assert "not a public address" in error.message
    for switch in SWITCHES:
        assert switch in error.message


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://LOCALHOST:8443/hook",
        "https://api.localhost/hook",
        "https://printer.local/hook",
        "https://db.internal/hook",
        "https://localhost./hook",
    ],
)
def test_local_names_are_refused(url: str) -> None:
    error = refusal(STRICT, url)
    assert "local name" in error.message
    assert "KEYHOOK_ACTIONS_ALLOW_HOSTS" in error.message


@pytest.mark.parametrize(
    "url",
    ["https://user:pass@hooks.example.com/", "https://token@hooks.example.com/"],
)
def test_credentials_in_the_url_are_refused_even_in_dev(url: str) -> None:
    for policy in (STRICT, NetworkPolicy(dev=True)):
        error = refusal(policy, url)
        assert "credentials" in error.message


@pytest.mark.parametrize(
    "url", ["", "hooks.example.com/x", "ftp://hooks.example.com/", "https:///path", "/relative"]
)
def test_malformed_urls_are_refused_naming_the_field(url: str) -> None:
    error = refusal(STRICT, url, "target.endpoint")
    assert error.details[0]["field"] == "target.endpoint"


def test_overlong_url_is_refused() -> None:
    error = refusal(STRICT, "https://hooks.example.com/" + "a" * 2048)
    assert "2048" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "https://10.0.0.1/hook",
        "http://[::1]:9000/hook",
        "http://hooks.example.com/",
    ],
)
def test_dev_opens_http_and_every_address(url: str) -> None:
    NetworkPolicy(dev=True).check_endpoint(url)


def test_allow_hosts_by_name_opens_http_and_local_names() -> None:
    policy = NetworkPolicy(allow_hosts=("Receiver.Local", "localhost"))
    policy.check_endpoint("http://receiver.local:9000/hook")
    policy.check_endpoint("http://localhost:9000/hook")
    # Other hosts stay closed.
    refusal(policy, "http://other.local/hook")
    refusal(policy, "https://127.0.0.1/hook")


def test_allow_hosts_by_cidr_opens_addresses_in_the_network_only() -> None:
    policy = NetworkPolicy(allow_hosts=("10.1.0.0/16", "fd00::/8"))
    policy.check_endpoint("http://10.1.2.3/hook")
    policy.check_endpoint("https://[fd12::5]/hook")
    refusal(policy, "https://10.2.0.1/hook")
    refusal(policy, "https://192.168.0.1/hook")


def test_allow_hosts_by_single_address() -> None:
    policy = NetworkPolicy(allow_hosts=("127.0.0.1",))
    policy.check_endpoint("http://127.0.0.1:8000/hook")
    refusal(policy, "http://127.0.0.2:8000/hook")


def test_address_allowed_for_resolved_addresses() -> None:
    assert STRICT.address_allowed("hooks.example.com", "93.184.216.34")
    assert STRICT.address_allowed("hooks.example.com", "2606:4700:4700::1111")
    assert not STRICT.address_allowed("hooks.example.com", "127.0.0.1")
    assert not STRICT.address_allowed("hooks.example.com", "::1")
    assert not STRICT.address_allowed("hooks.example.com", "::ffff:127.0.0.1")
    assert not STRICT.address_allowed("hooks.example.com", "169.254.169.254")
    assert not STRICT.address_allowed("hooks.example.com", "fe80::1%eth0")
    assert not STRICT.address_allowed("rebind.example.com", "10.0.0.1")


def test_address_allowed_with_dev_and_allow_list() -> None:
    assert NetworkPolicy(dev=True).address_allowed("anything", "127.0.0.1")
    by_name = NetworkPolicy(allow_hosts=("receiver.internal",))
    assert by_name.address_allowed("receiver.internal", "10.0.0.7")
    assert not by_name.address_allowed("other.internal", "10.0.0.7")
    by_net = NetworkPolicy(allow_hosts=("10.0.0.0/24",))
    assert by_net.address_allowed("any.name", "10.0.0.7")
    assert not by_net.address_allowed("any.name", "10.0.1.7")


def test_allow_list_entries_that_are_not_networks_are_ignored_as_networks() -> None:
    policy = NetworkPolicy(allow_hosts=("not a network", "receiver"))
    assert not policy.address_allowed("elsewhere", "10.0.0.1")
    assert policy.address_allowed("receiver", "10.0.0.1")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
    ],
)
def test_numeric_ipv4_forms_are_refused_when_saved(host: str, address: str) -> None:
    assert str(legacy_ipv4(host)) == address
    with pytest.raises(InvalidArgument, match=address.replace(".", r"\.")):
        NetworkPolicy().check_endpoint(f"https://{host}/hook")


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "256.1", "0x", "1..2"])
def test_names_are_not_numeric_forms(host: str) -> None:
    assert legacy_ipv4(host) is None
