/** network.type attribute from an ethertype (host order). */
const known = new Map<number, string>([
  [0x0800, 'ipv4'],
  [0x86dd, 'ipv6'],
  [0x0806, 'arp'],
]);

export function networkType(ethertype: number): string {
  return known.get(ethertype) ?? `0x${ethertype.toString(16).padStart(4, '0')}`;
}
