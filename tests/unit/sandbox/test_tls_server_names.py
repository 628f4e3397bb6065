"""The local services' server certificate names the host they listen on, so a client reaching them by a
service name (docker-compose's `sandbox`) verifies TLS against the local CA."""

from __future__ import annotations

from cryptography import x509

from sandbox.tls import ensure_certificates


def dns_and_ips(cert_file) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names.get_values_for_type(x509.DNSName)), {
        str(a) for a in names.get_values_for_type(x509.IPAddress)
    }


def test_default_certificate_names_localhost_and_the_loopback_addresses(tmp_path):
    files = ensure_certificates(tmp_path)
    assert dns_and_ips(files.cert_file) == ({"localhost"}, {"127.0.0.1", "::1"})


def test_a_service_name_host_is_added_and_the_certificate_reissued_by_the_same_ca(tmp_path):
    first = ensure_certificates(tmp_path)
    ca_before = first.ca_file.read_bytes()
    files = ensure_certificates(tmp_path, "sandbox")
    dns, ips = dns_and_ips(files.cert_file)
    assert dns == {"localhost", "sandbox"} and ips == {"127.0.0.1", "::1"}
    assert files.ca_file.read_bytes() == ca_before  # clients keep trusting the same CA file
    unchanged = files.cert_file.read_bytes()
    ensure_certificates(tmp_path, "sandbox")
    assert files.cert_file.read_bytes() == unchanged  # reused while it names the host


def test_an_address_host_is_named_as_an_address_and_a_wildcard_not_at_all(tmp_path):
    files = ensure_certificates(tmp_path / "a", "10.1.2.3")
    assert "10.1.2.3" in dns_and_ips(files.cert_file)[1]
    wildcard = ensure_certificates(tmp_path / "b", "0.0.0.0")
    assert dns_and_ips(wildcard.cert_file) == ({"localhost"}, {"127.0.0.1", "::1"})
