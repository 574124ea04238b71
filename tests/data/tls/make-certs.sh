#!/bin/sh
# Makes the test-only certificates of tests/data/tls (README.md there) with
# the openssl command. Run once; its output is committed, so the tests never
# make keys. Every certificate is valid for 100 years, and every key is
# P-256 (the cheapest handshake, as in production). Usage: ./make-certs.sh
set -eu
cd "$(dirname "$0")"
days=36500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# The test CA.
key ca.key
openssl req -new -x509 -key ca.key -out ca.pem -days "$days" -sha256 \
  -subj "/O=pipelined tests/CN=pipelined test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"

# A certificate signed by the CA for `name`, with the subjectAltName `san`.
leaf() {
  name=$1 san=$2 out=$3
  key "$out.key"
  openssl req -new -key "$out.key" -out "$tmp/$out.csr" \
    -subj "/O=pipelined tests/CN=$name"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
    "subjectAltName=$san" >"$tmp/$out.ext"
  openssl x509 -req -in "$tmp/$out.csr" -CA ca.pem -CAkey ca.key \
    -CAcreateserial -CAserial "$tmp/ca.srl" -days "$days" -sha256 \
    -extfile "$tmp/$out.ext" -out "$out.pem"
}

# The server: localhost and 127.0.0.1.
leaf localhost "DNS:localhost,IP:127.0.0.1" server
# Another name: a hostname mismatch for localhost and 127.0.0.1.
leaf wrong.example "DNS:wrong.example" wrong

# Self-signed for the same names, not signed by the CA: an unknown issuer.
key self-signed.key
openssl req -new -x509 -key self-signed.key -out self-signed.pem \
  -days "$days" -sha256 -subj "/O=pipelined tests/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"

chmod 644 ./*.key ./*.pem
