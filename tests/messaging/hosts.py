"""Separate machines on one box: a network namespace per host, joined to this one by a veth
pair with addresses of its own. PostgreSQL, Redis, RabbitMQ and the sandbox listen on 127.0.0.1
only, so a relay on this side's veth address passes each connection on to them: a worker in the
namespace sees them at another machine's address, as it would in production."""

import functools
import ipaddress
import os
import random
import re
import shutil
import socket
import subprocess
import threading
from urllib.parse import urlsplit, urlunsplit


@functools.cache
def namespaces_unavailable() -> str:
    """Why network namespaces cannot be used here ("" when they can)."""
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("ip"):
        return "no `ip` command (iproute2)"
    probe = f"aiseller-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ""


def ip(*args: str):
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def free_subnet() -> ipaddress.IPv4Network:
    """A /29 in 10.0.0.0/8 that no interface here uses (a run beside this one picks another)."""
    used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
    taken = [ipaddress.ip_interface(word).network for line in used.splitlines()
             for word in line.split() if "/" in word and word[0].isdigit()]
    while True:
        third, fourth = random.randint(0, 255), random.randrange(0, 256, 8)
        subnet = ipaddress.ip_network(f"10.{random.randint(200, 254)}.{third}.{fourth}/29")
        if not any(subnet.overlaps(network) for network in taken):
            return subnet


def remove_stale_namespaces():
    """Namespaces left by a test run that was killed (named ais<its pid><a|b>, that pid gone)."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in re.findall(r"^(ais(\d+)[ab])\b", listed, re.MULTILINE):
        if not os.path.exists(f"/proc/{name[1]}"):
            subprocess.run(["ip", "netns", "del", name[0]], capture_output=True)


class Namespace:
    """A host of its own: a network namespace, and a veth pair to this one in a subnet of their own."""

    def __init__(self, name: str, subnet: ipaddress.IPv4Network):
        self.name = name
        first, self.address = list(subnet.hosts())[:2]  # this side, the namespace's side
        self.gateway = str(first)
        self.outside, inside = f"{name[-11:]}h", f"{name[-11:]}n"
        ip("netns", "add", name)
        try:
            ip("link", "add", self.outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", name)
            ip("addr", "add", f"{self.gateway}/{subnet.prefixlen}", "dev", self.outside)
            ip("link", "set", self.outside, "up")
            ip("-n", name, "addr", "add", f"{self.address}/{subnet.prefixlen}", "dev", inside)
            ip("-n", name, "link", "set", inside, "up")
            ip("-n", name, "link", "set", "lo", "up")
        except Exception:
            self.remove()
            raise

    def command(self) -> tuple[str, ...]:
        """The prefix that runs a command inside."""
        return ("ip", "netns", "exec", self.name)

    def remove(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        subprocess.run(["ip", "link", "del", self.outside], capture_output=True)  # gone with it, normally


class Relay:
    """Accepts on (host, port) and joins each connection to 127.0.0.1:port."""

    def __init__(self, host: str, port: int):
        self.port = port
        self.server = socket.create_server((host, port))
        self.sockets = [self.server]
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self.pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def pipe(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.close()
                except OSError:
                    pass


def at(url: str, host: str) -> str:
    """`url` with its host replaced (postgres://u@127.0.0.1:5432/db -> postgres://u@HOST:5432/db)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo + '@' if userinfo else ''}{host}{port}"))
