/*
 * LD_PRELOAD shim for test peers (baresip, linphonec): a bind() to the wildcard address
 * (0.0.0.0 or ::) becomes a bind() to the loopback address (127.0.0.1; for :: on a
 * dual-stack socket ::ffff:127.0.0.1, which still reaches IPv4 peers on 127.0.0.1 as the
 * wildcard would have: ::1 cannot, and linphonec's RTP then fails with "Network is
 * unreachable"; ::1 on an IPv6-only socket).
 *
 * Why: baresip 1.0's DNS client (libre dnsc) and linphonec's RTP sockets bind the wildcard
 * address and no config key changes that; the testbed's rule is that every peer binds
 * loopback only. Built on first use by crates/testbed/src/loopback.rs with `cc`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);
int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static bind_fn real;
    if (!real) real = (bind_fn)dlsym(RTLD_NEXT, "bind");
    if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in a;
        memcpy(&a, addr, sizeof a);
        if (a.sin_addr.s_addr == htonl(INADDR_ANY)) {
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real(fd, (const struct sockaddr *)&a, sizeof a);
        }
    } else if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 a;
        memcpy(&a, addr, sizeof a);
        if (!memcmp(&a.sin6_addr, &in6addr_any, sizeof a.sin6_addr)) {
            int v6only = 0;
            socklen_t optlen = sizeof v6only;
            if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &optlen) == 0 && !v6only) {
                static const unsigned char mapped[16] =
                    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
                memcpy(&a.sin6_addr, mapped, sizeof mapped);
            } else {
                a.sin6_addr = in6addr_loopback;
            }
            return real(fd, (const struct sockaddr *)&a, sizeof a);
        }
    }
    return real(fd, addr, len);
}
