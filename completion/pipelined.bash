# bash completion for pipelined(8): its options, files after -c, and the
# plugins the same pipelined finds (--list-plugins), and "settings", after
# --describe and --describe-json (whose NAME is optional: a word that starts with '-'
# completes to an option instead); the top-level settings after
# --print-setting.
_pipelined() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  case $prev in
    -c | --config)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return
      ;;
    --describe-json)
      [[ $cur == -* ]] || {
        local plugins
        plugins=$("${COMP_WORDS[0]}" --list-plugins 2>/dev/null | cut -d ' ' -f 1)
        mapfile -t COMPREPLY < <(compgen -W "settings $plugins" -- "$cur")
        return
      }
      ;;
    --describe)
      local plugins
      plugins=$("${COMP_WORDS[0]}" --list-plugins 2>/dev/null | cut -d ' ' -f 1)
      mapfile -t COMPREPLY < <(compgen -W "settings $plugins" -- "$cur")
      return
      ;;
    --print-setting)
      local settings
      settings=$("${COMP_WORDS[0]}" --describe-json settings 2>/dev/null |
        grep -oE '"name": *"[a-z_]+"' | sed -E 's/.*"([a-z_]+)"$/\1/' | grep -vx settings)
      mapfile -t COMPREPLY < <(compgen -W "$settings" -- "$cur")
      return
      ;;
    --url | --interval | --iterations)
      return
      ;;
  esac
  if [ "${COMP_WORDS[1]}" = top ] && [ "$COMP_CWORD" -gt 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "--url -c --config --interval
      --iterations -h --help" -- "$cur")
    return
  fi
  mapfile -t COMPREPLY < <(compgen -W "top -c --config --once --check --live --strict
    --list-plugins --describe --describe-json --json --print-setting -V --version
    -h --help" \
    -- "$cur")
}
complete -F _pipelined pipelined
