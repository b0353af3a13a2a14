/**
 * A worker thread of the floors (./baselines.mjs): does its share of the items, taken one at a
 * time from the shared counter, and posts the number of store files it handled.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { drain } from './baselines.mjs';
import { sqlite } from './registry.mjs';

const { kind, registry, items, next } = workerData;
parentPort.postMessage(drain(kind, await sqlite(), registry, items, next));
