#!/usr/bin/env bash
# completion/pipelined.bash completes every option of `pipelined --help`,
# file names after -c, and the plugins pipelined finds after --describe.
. "$(dirname "$0")/lib.sh"

. "$top_srcdir/completion/pipelined.bash"
complete -p pipelined > /dev/null || fail "no completion registered for pipelined"

# complete WORD...: what _pipelined offers for the last word, one a line.
complete_words() {
  COMP_WORDS=("$PIPELINED" "$@")
  COMP_CWORD=$#
  _pipelined
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

"$PIPELINED" --help > "$work/help"
options=$(grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' "$work/help" | sed 's/^[ ,]*//' | sort -u)
offered=$(complete_words "-")
for opt in $options; do
  grep -qxF -- "$opt" <<< "$offered" || fail "$opt (from --help) is not completed: $offered"
done
[ "$(complete_words --desc)" = "$(printf '%s\n' --describe --describe-json)" ] \
  || fail "--desc completes to: $(complete_words --desc)"
pass "every option of --help is completed"

mkdir "$work/etc"
touch "$work/etc/a.conf" "$work/etc/b.conf"
[ "$(complete_words -c "$work/etc/a")" = "$work/etc/a.conf" ] || fail "-c does not complete a file name"
[ "$(complete_words --config "$work/etc/")" = "$(printf '%s\n' "$work/etc/a.conf" "$work/etc/b.conf")" ] \
  || fail "--config does not complete file names"
pass "file names after -c and --config"

[ "$(complete_words --describe source-f)" = source-file ] \
  || fail "--describe source-f completes to: $(complete_words --describe source-f)"
complete_words --describe-json "" | grep -qx sink-file \
  || fail "--describe-json does not offer sink-file"
# Its NAME is optional: an option may follow instead.
[ "$(complete_words --describe-json --he)" = --help ] \
  || fail "--describe-json --he completes to: $(complete_words --describe-json --he)"
[ "$(complete_words --describe sett)" = settings ] \
  || fail "--describe sett completes to: $(complete_words --describe sett)"
pass "plugin names after --describe and --describe-json"

[ "$(complete_words t)" = top ] || fail "t completes to: $(complete_words t)"
[ "$(complete_words top --i)" = "$(printf '%s\n' --interval --iterations)" ] \
  || fail "top --i completes to: $(complete_words top --i)"
[ "$(complete_words top -c "$work/etc/a")" = "$work/etc/a.conf" ] || fail "top -c does not complete a file name"
pass "the top command and its options"

[ "$(complete_words --print-setting metrics_l)" = metrics_listen ] \
  || fail "--print-setting metrics_l completes to: $(complete_words --print-setting metrics_l)"
pass "top-level settings after --print-setting"
