# bash completion for ferry-send and ferry-recv: options, their values
# (overwrite modes, files, directories), and paths. Works with or without
# the bash-completion package. Installed as completions/ferry-send and
# completions/ferry-recv (the same file).

_ferry_options() {
  # The options a program lists in its --help: kept in step with it.
  "$1" --help 2>/dev/null | grep -oE '^ +(-[A-Za-z0-9], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'
}

_ferry() {
  local cur prev cmd words
  cmd=$1
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=""
  [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  case $prev in
    --overwrite)
      mapfile -t COMPREPLY < <(compgen -W 'never newer always' -- "$cur")
      return 0 ;;
    --udp)
      return 0 ;;
    --compress-level)
      mapfile -t COMPREPLY < <(compgen -W '1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19' -- "$cur")
      return 0 ;;
    --files-from | --exclude-from | --token-file | --code-file)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0 ;;
    --dir | -d | --config-dir)
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return 0 ;;
    --proxy | --via-bind)
      mapfile -t COMPREPLY < <(compgen -W 'socks5:// socks5h://' -- "$cur")
      return 0 ;;
    --tcp-congestion)
      local algos
      algos=$(cat /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null)
      mapfile -t COMPREPLY < <(compgen -W "${algos:-cubic reno bbr}" -- "$cur")
      return 0 ;;
    --exclude | --name | --to | --pin | --rate | --udp-size | --listen | -l | --timeout | \
      --connect-timeout | --max-* | --min-free | --partial-ttl | --code-uses | --new-token)
      return 0 ;;  # a value of the user's own
  esac
  if [[ $cur == -* ]]; then
    words=$(_ferry_options "$cmd")
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
    return 0
  fi
  [ "${cmd##*/}" = ferry-send ] && mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  return 0
}

complete -o filenames -F _ferry ferry-send ferry-recv
