#!/usr/bin/env bash
# Checks that each layer's feature builds only what its layer needs, so the
# direction of the dependencies cannot silently regress:
#
#   core (no feature)  no async runtime, no HTTP, no database
#   queue              no HTTP client, no database
#   sqlite             no HTTP client or TLS
#   postgres           no HTTP client (its TLS to the database may use rustls)
#   axum, reqwest      no database, and neither builds the other; reqwest
#                      builds no metrics facade unless `metrics` asks
#   metrics            the Dispatcher and the facade: no database, no axum
#   server             no database: the application picks its store
#   client             no database, no axum, no OpenAPI: an HTTP client only
#   utoipa             only with server
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
refuse() {
    local features=$1
    shift
    local tree found=0
    tree=$(cargo tree --locked -e normal --no-default-features --features "$features" \
        --prefix none --format '{p}')
    for crate in "$@"; do
        if grep -qE "^$crate v" <<<"$tree"; then
            echo "FAIL --features '$features' builds $crate"
            found=1
        fi
    done
    if [ "$found" = 0 ]; then
        echo "ok   --features '$features' builds none of: $*"
    else
        failed=1
    fi
}

refuse "" tokio reqwest hyper rustls sqlx axum utoipa metrics
refuse queue tokio reqwest hyper rustls sqlx axum utoipa metrics
refuse sqlite reqwest hyper rustls axum utoipa
refuse postgres reqwest hyper axum utoipa
refuse axum reqwest rustls sqlx utoipa
refuse reqwest sqlx axum utoipa metrics
refuse metrics sqlx axum utoipa
refuse server sqlx
refuse client sqlx axum utoipa
exit "$failed"
