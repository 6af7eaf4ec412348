/** etcd-style listen URLs -> the address forms the gRPC servers bind. */
export function parseListenUrl(url: string): string {
  if (url.startsWith('unix://')) return `unix:${url.slice('unix://'.length)}`;
  if (url.startsWith('unix:')) return url;
  if (url.startsWith('https://') || url.startsWith('unixs:')) {
    throw new Error(`TLS listeners are not supported yet: ${url}`);
  }
  const rest = url.startsWith('http://') ? url.slice('http://'.length) : url;
  const hostPort = rest.replace(/\/+$/, '');
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]+$/.test(hostPort)) {
    throw new Error(`cannot listen on "${url}": expected http://host:port, host:port or unix:path`);
  }
  return hostPort;
}
