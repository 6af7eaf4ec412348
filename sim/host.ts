/**
 * Wiring of the machinery for a simulated cluster: one SimWorld per seed (loop, observed root
 * Rand, network, log sink) and one SimHost per machine (clock, disk device, process state).
 *
 * A SimHost keeps crash, pause and restart consistent across clock, network and disk, which is
 * easy to get subtly wrong when done by hand: crash() stops the clock's timers, cuts the
 * network, and drops unsynced disk writes, in that order, in one event; boot() starts a new life
 * with a fresh disk view, transport, logger and Rand stream. Node code is built by the caller
 * from the SimLife it gets: `(life) => Node`, so a restart just calls the factory again.
 *
 * Sub-streams: the network draws from 'net', each disk from 'disk/<id>', each life of a node from
 * 'node/<id>/life<k>'; callers should fork their own labels ('nemesis', 'client', ...).
 */
import { assert } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import { createRand } from '../src/util/index.js';
import type { Env, Transport } from '../src/env/index.js';
import { SimClock } from './clock.js';
import type { SimClockOptions } from './clock.js';
import { SimDiskDevice } from './disk.js';
import type { CrashReport, SimDisk, SimDiskOptions } from './disk.js';
import { SimLoop } from './loop.js';
import type { SimLoopOptions } from './loop.js';
import { SimLogSink } from './logger.js';
import type { SimLogSinkOptions } from './logger.js';
import { SimNetwork } from './network.js';
import type { NodeProcessState, SimNetworkOptions } from './network.js';

export interface SimWorldOptions<M> {
  readonly loop?: SimLoopOptions;
  readonly network?: SimNetworkOptions<M>;
  readonly log?: SimLogSinkOptions;
}

export class SimWorld<M> {
  readonly loop: SimLoop;
  /** The seed's root stream, observed by the loop: every draw of every fork is in the trace hash. */
  readonly rand: SeededRand;
  readonly network: SimNetwork<M>;
  readonly logs: SimLogSink;
  private readonly hostMap = new Map<NodeId, SimHost<M>>();

  constructor(
    readonly seed: number,
    options: SimWorldOptions<M> = {},
  ) {
    this.loop = new SimLoop(options.loop);
    this.rand = createRand(seed);
    this.loop.observeRand(this.rand);
    this.network = new SimNetwork<M>(this.loop, this.rand.fork('net'), options.network);
    this.logs = new SimLogSink(this.loop, options.log);
  }

  addHost(id: NodeId, options: SimHostOptions = {}): SimHost<M> {
    assert(!this.hostMap.has(id), () => `addHost(${id}): already added`);
    const host = new SimHost<M>(this, id, options);
    this.hostMap.set(id, host);
    return host;
  }

  host(id: NodeId): SimHost<M> {
    const host = this.hostMap.get(id);
    assert(host !== undefined, () => `host(${id}): no such host`);
    return host;
  }

  hosts(): SimHost<M>[] {
    return [...this.hostMap.values()];
  }
}

export interface SimHostOptions {
  readonly clock?: SimClockOptions;
  readonly disk?: SimDiskOptions;
}

/** One life of a node process: what its factory gets. */
export interface SimLife<M> {
  readonly nodeId: NodeId;
  /** 0 for the first boot, then 1, 2, ... after each crash. */
  readonly life: number;
  readonly env: Env;
  readonly transport: Transport<M>;
  /** The same object as env.disk, with the simulator-only extras (sync latency). */
  readonly disk: SimDisk;
}

export class SimHost<M> {
  readonly clock: SimClock;
  readonly device: SimDiskDevice;
  private lives = 0;
  private current: SimLife<M> | undefined = undefined;

  constructor(
    private readonly world: SimWorld<M>,
    readonly id: NodeId,
    options: SimHostOptions,
  ) {
    this.clock = new SimClock(world.loop, id, options.clock);
    this.device = new SimDiskDevice(world.rand.fork('disk').fork(id), options.disk);
  }

  /** 'crashed' before the first boot and after crash(). */
  get state(): NodeProcessState {
    return this.current === undefined ? 'crashed' : this.world.network.state(this.id);
  }

  /** The running life, if any. */
  get life(): SimLife<M> | undefined {
    return this.current;
  }

  /** Starts a new life on what the disk holds durably. */
  boot(): SimLife<M> {
    assert(this.current === undefined, () => `boot(${this.id}): already running; crash() it first`);
    if (this.clock.state === 'crashed') this.clock.restart();
    if (this.world.network.state(this.id) === 'crashed') this.world.network.restart(this.id);
    const life = this.lives++;
    const disk = this.device.open();
    const logger = this.world.logs.logger({ node: `${this.id}#${life}` });
    const rand = this.world.rand.fork('node').fork(this.id).fork(`life${life}`);
    const env: Env = { clock: this.clock, rand, disk, logger };
    this.current = { nodeId: this.id, life, env, transport: this.world.network.transport(this.id), disk };
    return this.current;
  }

  /** kill -9 or power loss: timers, connections and unsynced writes are gone. */
  crash(): CrashReport {
    assert(this.current !== undefined, () => `crash(${this.id}): not running`);
    this.current = undefined;
    this.clock.crash();
    this.world.network.crash(this.id);
    return this.device.crash();
  }

  /** A clean exit: the OS writes back what the process wrote (unless a sync had failed). */
  stop(): void {
    this.device.flushAll();
    this.crash();
  }

  pause(): void {
    assert(this.state === 'up', () => `pause(${this.id}): node is ${this.state}`);
    this.clock.pause();
    this.world.network.pause(this.id);
  }

  resume(): void {
    assert(this.state === 'paused', () => `resume(${this.id}): node is ${this.state}`);
    this.clock.resume();
    this.world.network.resume(this.id);
  }
}
