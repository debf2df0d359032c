import { expect } from 'vitest';
import { AppError } from '../../src/kernel/app-error.js';

/** Awaits a promise that must reject with an AppError, and returns that error. */
export async function appError(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError');
}
