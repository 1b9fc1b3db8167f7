# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_berth_global_optspecs
    string join \n root= json request-id= h/help V/version
end

function __fish_berth_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_berth_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_berth_using_subcommand
    set -l cmd (__fish_berth_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c berth -n "__fish_berth_needs_command" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_needs_command" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_needs_command" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c berth -n "__fish_berth_needs_command" -s V -l version -d 'Print version'
complete -c berth -n "__fish_berth_needs_command" -f -a "install" -d 'Install or update a container (reserves ports, MCS level, user)'
complete -c berth -n "__fish_berth_needs_command" -f -a "start" -d 'Start a container and have it start at boot'
complete -c berth -n "__fish_berth_needs_command" -f -a "stop" -d 'Stop a container and keep it off at boot'
complete -c berth -n "__fish_berth_needs_command" -f -a "restart" -d 'Restart a container\'s service'
complete -c berth -n "__fish_berth_needs_command" -f -a "status" -d 'Show a container\'s units and their state'
complete -c berth -n "__fish_berth_needs_command" -f -a "logs" -d 'Show a container\'s journal'
complete -c berth -n "__fish_berth_needs_command" -f -a "ports" -d 'Show a container\'s port mapping'
complete -c berth -n "__fish_berth_needs_command" -f -a "delete" -d 'Delete a container and release what it owns'
complete -c berth -n "__fish_berth_needs_command" -f -a "list" -d 'List installed containers'
complete -c berth -n "__fish_berth_needs_command" -f -a "env" -d 'Show or change a container\'s environment'
complete -c berth -n "__fish_berth_needs_command" -f -a "link" -d 'Set a container\'s network links (replacing them; none clears)'
complete -c berth -n "__fish_berth_needs_command" -f -a "images" -d 'List podman\'s images'
complete -c berth -n "__fish_berth_needs_command" -f -a "run" -d 'Run a one-off container as a transient unit'
complete -c berth -n "__fish_berth_needs_command" -f -a "internal" -d 'Internal commands (units and packaging call these)'
complete -c berth -n "__fish_berth_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c berth -n "__fish_berth_using_subcommand install" -l image -d 'Image reference as podman takes it' -r
complete -c berth -n "__fish_berth_using_subcommand install" -l port -d 'Publish container port INT on host port EXT (EXT absent or 0: allocate)' -r
complete -c berth -n "__fish_berth_using_subcommand install" -l env -d 'Set a variable in the container\'s environment' -r
complete -c berth -n "__fish_berth_using_subcommand install" -l from-json -d 'Read geard\'s install body (a berth definition) from FILE (- for stdin)' -r -F
complete -c berth -n "__fish_berth_using_subcommand install" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand install" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand install" -l isolate -d 'Run under the user ctr-ID with its own subordinate ids and MCS level'
complete -c berth -n "__fish_berth_using_subcommand install" -l socket-activated -d 'systemd listens on the ports and starts the container on demand'
complete -c berth -n "__fish_berth_using_subcommand install" -l start -d 'Start now and at boot'
complete -c berth -n "__fish_berth_using_subcommand install" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand install" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand start" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand start" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand start" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand start" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand stop" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand stop" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand stop" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand stop" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand restart" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand restart" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand restart" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand restart" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand status" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand status" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand status" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand status" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand logs" -s n -l lines -d 'How many of the last journal lines (1-10000)' -r
complete -c berth -n "__fish_berth_using_subcommand logs" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand logs" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand logs" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand logs" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand ports" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand ports" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand ports" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand ports" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand delete" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand delete" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand delete" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand delete" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand list" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand list" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand list" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand list" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand env" -l unset -d 'Remove a variable' -r
complete -c berth -n "__fish_berth_using_subcommand env" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand env" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand env" -l reset -d 'Replace the whole environment with the K=V given (none: empty it)'
complete -c berth -n "__fish_berth_using_subcommand env" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand env" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand link" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand link" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand link" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand link" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand images" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand images" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand images" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand images" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand run" -l env -d 'Set a variable in the container\'s environment' -r
complete -c berth -n "__fish_berth_using_subcommand run" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand run" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand run" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand run" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -f -a "apply-links" -d 'Install a container\'s NetworkLinks in its network namespace (ExecStartPost=)'
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -f -a "man" -d 'Write man pages (berth.1, berth-<command>.1) into DIR'
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -f -a "completions" -d 'Write the completion script for SHELL into DIR'
complete -c berth -n "__fish_berth_using_subcommand internal; and not __fish_seen_subcommand_from apply-links man completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from apply-links" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from apply-links" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from apply-links" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from apply-links" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from man" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from man" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from man" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from completions" -l root -d 'Root prefix of every path the jobs touch (default /)' -r -F
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from completions" -l request-id -d 'Request identifier (22 base64url or 32 hex characters): replaying a succeeded mutating request returns its result without redoing it' -r
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from completions" -l json -d 'Print JSON instead of tables and messages'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from completions" -s h -l help -d 'Print help'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from help" -f -a "apply-links" -d 'Install a container\'s NetworkLinks in its network namespace (ExecStartPost=)'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from help" -f -a "man" -d 'Write man pages (berth.1, berth-<command>.1) into DIR'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from help" -f -a "completions" -d 'Write the completion script for SHELL into DIR'
complete -c berth -n "__fish_berth_using_subcommand internal; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "install" -d 'Install or update a container (reserves ports, MCS level, user)'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "start" -d 'Start a container and have it start at boot'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "stop" -d 'Stop a container and keep it off at boot'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "restart" -d 'Restart a container\'s service'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "status" -d 'Show a container\'s units and their state'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "logs" -d 'Show a container\'s journal'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "ports" -d 'Show a container\'s port mapping'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "delete" -d 'Delete a container and release what it owns'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "list" -d 'List installed containers'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "env" -d 'Show or change a container\'s environment'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "link" -d 'Set a container\'s network links (replacing them; none clears)'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "images" -d 'List podman\'s images'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "run" -d 'Run a one-off container as a transient unit'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "internal" -d 'Internal commands (units and packaging call these)'
complete -c berth -n "__fish_berth_using_subcommand help; and not __fish_seen_subcommand_from install start stop restart status logs ports delete list env link images run internal help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c berth -n "__fish_berth_using_subcommand help; and __fish_seen_subcommand_from internal" -f -a "apply-links" -d 'Install a container\'s NetworkLinks in its network namespace (ExecStartPost=)'
complete -c berth -n "__fish_berth_using_subcommand help; and __fish_seen_subcommand_from internal" -f -a "man" -d 'Write man pages (berth.1, berth-<command>.1) into DIR'
complete -c berth -n "__fish_berth_using_subcommand help; and __fish_seen_subcommand_from internal" -f -a "completions" -d 'Write the completion script for SHELL into DIR'
