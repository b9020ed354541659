/**
 * The demo's TLS material — DEMO ONLY, NOT A SECRET. The demo's WAN targets (src/demo/wan.ts) are
 * TLS servers on 127.0.0.1 with this certificate, and the agent is told to trust this CA for them
 * (the `probes.ca` agent option), so the probes do the same TCP + TLS handshake as against
 * 1.1.1.1:443. The private key below is published on purpose: it protects nothing, is trusted by
 * nothing but the demo's own agent, and must never be used for anything else.
 *
 * Made once with the openssl CLI (EC P-256), valid from 2000-01-01 to 9999-12-31:
 * - the CA: CN "ddns-watchdog demo CA - demo only, not a secret", CA:TRUE, keyCertSign;
 * - the server: CN 127.0.0.1, subjectAltName IP:127.0.0.1, serverAuth.
 */

/** The demo CA's certificate (demo only, not a secret). */
export const DEMO_CA_CERT = `-----BEGIN CERTIFICATE-----
MIIBpzCCAU6gAwIBAgICEAAwCgYIKoZIzj0EAwIwOjE4MDYGA1UEAwwvZGRucy13
YXRjaGRvZyBkZW1vIENBIC0gZGVtbyBvbmx5LCBub3QgYSBzZWNyZXQwIBcNMDAw
MTAxMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDoxODA2BgNVBAMML2RkbnMtd2F0
Y2hkb2cgZGVtbyBDQSAtIGRlbW8gb25seSwgbm90IGEgc2VjcmV0MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAECkcUs6ctm4D5AEbJvYT5z/CA9GmFSHrEBZk+x7pZ
ZcdLuqE0wXtnHayhmDg26ofSPbizcQBEO62Lj70LIVZqtKNCMEAwDwYDVR0TAQH/
BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFMd3xhtinhxp50WTanwu
IFvYh7bFMAoGCCqGSM49BAMCA0cAMEQCIAZoZyfR2iVKhY+B9YLf/EIoGHhgl2UH
E2tjn5JdP4sFAiBjW1O/HMYG/zs6SVzA4IADb72gkkVzt8I8HNTzn2YwHQ==
-----END CERTIFICATE-----
`;

/** The demo WAN targets' certificate for IP 127.0.0.1, issued by the demo CA (demo only, not a secret). */
export const DEMO_SERVER_CERT = `-----BEGIN CERTIFICATE-----
MIIBxTCCAWugAwIBAgICEAEwCgYIKoZIzj0EAwIwOjE4MDYGA1UEAwwvZGRucy13
YXRjaGRvZyBkZW1vIENBIC0gZGVtbyBvbmx5LCBub3QgYSBzZWNyZXQwIBcNMDAw
MTAxMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMBQxEjAQBgNVBAMMCTEyNy4wLjAu
MTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEVSGp1Fi9HKhxkkbDxPSwnWMXjc
/Orlof5vFANY7qMmHLtcdqI4AJoIjfQaLLrqA5R4nMcp76rXJseQJ7W4hkajgYQw
gYEwCQYDVR0TBAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUH
AwEwDwYDVR0RBAgwBocEfwAAATAdBgNVHQ4EFgQUnMScubbA/rgzjsMmUmNQagAa
BdIwHwYDVR0jBBgwFoAUx3fGG2KeHGnnRZNqfC4gW9iHtsUwCgYIKoZIzj0EAwID
SAAwRQIhAPYKBPb6l3l/iQWS2DfnUS5C6pS98+fMRMEFh/wLx90NAiAUl4HtOKhl
7FdvHKeDUqkNpWyz5j9AbXz1j14mPlh8Bg==
-----END CERTIFICATE-----
`;

/** The key of DEMO_SERVER_CERT. Demo only, not a secret: published on purpose, trusted by nothing else. */
export const DEMO_SERVER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrpG6BXIuue4ST7GB
7GG5+3A0QXGjWkgPyBFxIyOF+4WhRANCAARFUhqdRYvRyocZJGw8T0sJ1jF43Pzq
5aH+bxQDWO6jJhy7XHaiOACaCI30Giy66gOUeJzHKe+q1ybHkCe1uIZG
-----END PRIVATE KEY-----
`;
