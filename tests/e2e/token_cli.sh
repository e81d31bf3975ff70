#!/usr/bin/env bash
# dmanalytics token issue: a token signed with the state folder's secret
# (created 0600 on first use), carrying the role, subject and lifetime asked for.
source "$(dirname "$0")/lib.sh"
dir=$(new_state_dir); trap 'rm -rf "$dir"' EXIT
py=/usr/bin/python3

# Prints the decoded payload of a token, or fails when it is not three parts.
payload() {
  local IFS=.
  read -r -a parts <<<"$1"
  [[ ${#parts[@]} == 3 ]] || fail "not a JWT: $1"
  local p=${parts[1]}
  while (( ${#p} % 4 )); do p+="="; done
  basenc --base64url -d <<<"$p"
}
# claim JSON NAME: one claim of a payload, as Python prints it.
claim() { $py -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$1" "$2"; }
# Checks the HS256 signature of a token against the secret file (one trailing newline stripped).
signed_with() {
  $py - "$1" "$2" <<'PY' || fail "token not signed with $2"
import base64, hashlib, hmac, sys
token, file = sys.argv[1], sys.argv[2]
secret = open(file, "rb").read()
if secret.endswith(b"\n"):
    secret = secret[:-1]
head, body, sig = token.split(".")
want = base64.urlsafe_b64encode(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
header = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
sys.exit(0 if hmac.compare_digest(want, sig) and b'"HS256"' in header else 1)
PY
}

token=$("$cli" --state-dir "$dir" token issue --role analyst --sub user-42)
[[ $(wc -l <<<"$token") == 1 ]] || fail "more than the token on stdout: $token"
p=$(payload "$token")
[[ $(claim "$p" role) == analyst ]] || fail "role: $p"
[[ $(claim "$p" sub) == user-42 ]] || fail "sub: $p"
(( $(claim "$p" exp) - $(claim "$p" iat) == 3600 )) || fail "default ttl is not 1h: $p"
now=$(date +%s); iat=$(claim "$p" iat)
(( iat >= now - 5 && iat <= now )) || fail "iat $iat is not now ($now)"

# The secret was created with mode 0600 and signs the token.
[[ -f $dir/jwt.secret ]] || fail "no $dir/jwt.secret"
[[ $(stat -c %a "$dir/jwt.secret") == 600 ]] || fail "secret mode $(stat -c %a "$dir/jwt.secret")"
(( $(wc -c <"$dir/jwt.secret") >= 33 )) || fail "secret too short"
signed_with "$token" "$dir/jwt.secret"
secret_before=$(cat "$dir/jwt.secret")

# Later tokens reuse the secret; --ttl and the default subject.
token=$("$cli" --state-dir "$dir" token issue --role viewer --ttl 1h30m)
p=$(payload "$token")
[[ $(cat "$dir/jwt.secret") == "$secret_before" ]] || fail "the secret changed"
signed_with "$token" "$dir/jwt.secret"
[[ $(claim "$p" role) == viewer ]] || fail "role: $p"
[[ $(claim "$p" sub) == "local:$(id -un)" ]] || fail "default sub: $p"
(( $(claim "$p" exp) - $(claim "$p" iat) == 5400 )) || fail "ttl 1h30m: $p"
[[ $(claim "$p" iss) == None && $(claim "$p" aud) == None ]] || fail "iss/aud without config: $p"

# The state folder comes from the environment as well, and is created when missing.
token=$(DMANALYTICS_STATE_DIR=$dir/nested/state "$cli" -q token issue --role admin --ttl 90)
signed_with "$token" "$dir/nested/state/jwt.secret"
(( $(claim "$(payload "$token")" exp) - $(claim "$(payload "$token")" iat) == 90 )) || fail "ttl 90"

# Issuer and audience of the configuration; a configured secret file is used as it is.
head -c 40 /dev/urandom | basenc --base64url >"$dir/configured.secret"
chmod 600 "$dir/configured.secret"
printf '[auth]\njwt_secret_file = "configured.secret"\nissuer = "dm-e2e"\naudience = "dm-api"\n' >"$dir/dm.toml"
token=$("$cli" --config "$dir/dm.toml" --state-dir "$dir/other" token issue --role admin --sub ops)
p=$(payload "$token")
[[ $(claim "$p" iss) == dm-e2e && $(claim "$p" aud) == dm-api ]] || fail "iss/aud from config: $p"
signed_with "$token" "$dir/configured.secret"
[[ ! -e $dir/other/jwt.secret ]] || fail "a configured secret file must not create the default one"

# Usage errors: exit 2 with a clear message, no token on stdout.
expect_exit 2 "$cli" --state-dir "$dir" token issue --role root
[[ $err == *"unknown role 'root' (expected user, viewer, analyst or admin)"* ]] || fail "bad role: $err"
expect_exit 2 "$cli" --state-dir "$dir" token issue --role user --sub anna
[[ $err == *"--role user needs --sub USER_ID (a numeric user id), got 'anna'"* ]] || fail "user role without a user id: $err"
learner=$("$cli" --state-dir "$dir" token issue --role user --sub 42 2>/dev/null)
lp=$(payload "$learner")
[[ $(claim "$lp" role) == user && $(claim "$lp" sub) == 42 ]] || fail "user token claims: $lp"
expect_exit 2 "$cli" --state-dir "$dir" token issue --role admin --ttl 5x
[[ $err == *"invalid duration '5x'"* ]] || fail "bad ttl: $err"
expect_exit 2 "$cli" --state-dir "$dir" token issue --role admin --ttl 0
[[ $err == *"--ttl"* ]] || fail "zero ttl: $err"
expect_exit 2 "$cli" --state-dir "$dir" token issue
[[ $err == *"--role"* ]] || fail "missing --role: $err"
[[ -z $("$cli" --state-dir "$dir" token issue --role nobody 2>/dev/null) ]] || fail "output on a usage error"

# A configured secret that is missing or too short: exit 2 naming the file, nothing created.
printf '[auth]\njwt_secret_file = "%s"\n' "$dir/missing.secret" >"$dir/missing.toml"
expect_exit 2 "$cli" --config "$dir/missing.toml" token issue --role admin
[[ $err == *"$dir/missing.secret"* ]] || fail "missing secret not named: $err"
[[ ! -e $dir/missing.secret ]] || fail "a configured secret file was created"
printf 'short\n' >"$dir/short.secret"
printf '[auth]\njwt_secret_file = "%s"\n' "$dir/short.secret" >"$dir/short.toml"
expect_exit 2 "$cli" --config "$dir/short.toml" token issue --role admin
[[ $err == *"short.secret holds 5 bytes"* ]] || fail "short secret: $err"
echo "ok"
