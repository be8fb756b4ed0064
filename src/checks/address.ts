/**
 * Where an allocation listens, and the `alloc.*` template names (docs/policy.md "Templates").
 * Pure: reads the allocation object only. Order of docs/nomad-api.md "Allocations":
 *   1. AllocatedResources.Shared.Ports[] (group network, Nomad 0.12+): HostIP:Value
 *   2. AllocatedResources.Shared.Networks[0]: IP + DynamicPorts/ReservedPorts
 *   3. task networks (AllocatedResources.Tasks.<task>.Networks, tasks in name order)
 *   4. the deprecated Resources.Networks / TaskResources that older agents (and Nomad's API doc
 *      samples) still carry, same rules
 * A port found without an IP takes the bridge/CNI address NetworkStatus.Address, with the port
 * inside the namespace (`To`) when it has one.
 */
import type { AllocatedResources, Allocation, NetworkResource } from '../domain/nomad.js';

export interface AllocAddress {
  ip: string;
  port: number;
}

type Port = { Label: string; Value: number; To?: number; HostIP?: string };

/** The fields read here; the stub of /v1/allocations?resources=true has most of them. */
export type AddressableAlloc = Pick<Allocation, 'ID' | 'Name'> &
  Partial<Pick<Allocation, 'NodeID' | 'NodeName' | 'NetworkStatus'>> & {
    AllocatedResources?: AllocatedResources | null;
    /** Deprecated by Nomad, still sent. */
    Resources?: { Networks?: NetworkResource[] | null } | null;
    TaskResources?: Record<string, { Networks?: NetworkResource[] | null }> | null;
  };

interface Candidate {
  ip: string | undefined;
  port: Port;
}

export function allocAddress(alloc: AddressableAlloc, label: string): AllocAddress | undefined {
  const ports = allocPorts(alloc);
  return Object.hasOwn(ports, label) ? ports[label] : undefined;
}

/**
 * `alloc.id`, `alloc.name`, `alloc.node` (node name, else node ID), `alloc.ip` (the address of
 * the first port found, else NetworkStatus.Address), `alloc.port.<label>`, `alloc.addr.<label>`
 * (`ip:port`). Names that cannot be known (no ports) are absent rather than empty.
 */
export function allocTemplateVars(alloc: AddressableAlloc): Record<string, string> {
  const vars: Record<string, string> = { 'alloc.id': alloc.ID, 'alloc.name': alloc.Name };
  const node = alloc.NodeName || alloc.NodeID;
  if (node) vars['alloc.node'] = node;
  const ports = allocPorts(alloc);
  for (const [label, addr] of Object.entries(ports)) {
    vars['alloc.ip'] ??= addr.ip;
    vars[`alloc.port.${label}`] = String(addr.port);
    vars[`alloc.addr.${label}`] = formatAddr(addr);
  }
  const bridge = alloc.NetworkStatus?.Address;
  if (!vars['alloc.ip'] && bridge) vars['alloc.ip'] = bridge;
  return vars;
}

/**
 * Every port label with its address, first source in the order winning, in discovery order.
 * The structured form of `alloc.port.*` / `alloc.addr.*` for renderers that take one.
 */
export function allocPorts(alloc: AddressableAlloc): Record<string, AllocAddress> {
  const ports: Record<string, AllocAddress> = {};
  for (const c of candidates(alloc)) {
    const label = c.port.Label;
    if (!label || Object.hasOwn(ports, label)) continue;
    const addr = resolve(alloc, c);
    if (addr) ports[label] = addr;
  }
  return ports;
}

/** `ip:port`, with brackets for IPv6 so it can go straight into a URL. */
export function formatAddr(addr: AllocAddress): string {
  return addr.ip.includes(':') ? `[${addr.ip}]:${addr.port}` : `${addr.ip}:${addr.port}`;
}

function candidates(alloc: AddressableAlloc): Candidate[] {
  const out: Candidate[] = [];
  const shared = alloc.AllocatedResources?.Shared;
  for (const p of shared?.Ports ?? []) out.push({ ip: p.HostIP, port: p });
  const sharedNet = shared?.Networks?.[0];
  if (sharedNet) out.push(...fromNetwork(sharedNet));
  out.push(...fromTasks(alloc.AllocatedResources?.Tasks));
  const legacy = alloc.Resources?.Networks?.[0];
  if (legacy) out.push(...fromNetwork(legacy));
  out.push(...fromTasks(alloc.TaskResources));
  return out;
}

function fromTasks(tasks: Record<string, { Networks?: NetworkResource[] | null }> | null | undefined): Candidate[] {
  return Object.keys(tasks ?? {})
    .sort()
    .flatMap((name) => (tasks?.[name]?.Networks ?? []).flatMap(fromNetwork));
}

function fromNetwork(net: NetworkResource): Candidate[] {
  return [...(net.DynamicPorts ?? []), ...(net.ReservedPorts ?? [])].map((port) => ({ ip: net.IP, port }));
}

function resolve(alloc: AddressableAlloc, c: Candidate): AllocAddress | undefined {
  if (!(c.port.Value > 0) && !(c.port.To && c.port.To > 0)) return undefined;
  if (c.ip && c.port.Value > 0) return { ip: c.ip, port: c.port.Value };
  const bridge = alloc.NetworkStatus?.Address;
  if (!bridge) return undefined;
  const port = c.port.To && c.port.To > 0 ? c.port.To : c.port.Value;
  return { ip: bridge, port };
}
