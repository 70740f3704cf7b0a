/**
 * A server-side copy too large for one CopyObject (S3: 5 GiB): a multipart upload fed by
 * UploadPartCopy in ranges, a bounded number at a time, aborted when any part fails.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { inTurns } from '../concurrency.js';

/** S3's limit of parts per upload. */
export const MAX_PARTS = 10_000;

export interface MultipartCopy {
  /** "bucket/key", URL-encoded. */
  copySource: string;
  size: number;
  /** The target's bucket, key and what it is created with (retention, content type, metadata). */
  target: CreateMultipartUploadCommandInput & { Bucket: string; Key: string };
  partSize: number;
  /** Parts copied at once. */
  queueSize: number;
}

export async function multipartCopy(client: S3Client, copy: MultipartCopy): Promise<void> {
  const { Bucket, Key } = copy.target;
  const { UploadId } = await client.send(new CreateMultipartUploadCommand(copy.target));
  try {
    const parts = await copyParts(client, copy, { Bucket, Key, UploadId });
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw error;
  }
}

/** UploadPartCopy in ranges, `queueSize` at a time; on a failure the others stop and are waited for. */
async function copyParts(client: S3Client, copy: MultipartCopy, upload: { Bucket: string; Key: string; UploadId: string | undefined }): Promise<CompletedPart[]> {
  const { size } = copy;
  const partSize = Math.max(copy.partSize, Math.ceil(size / MAX_PARTS));
  const count = Math.ceil(size / partSize);
  return inTurns(Array.from({ length: count }, (_, index) => index), copy.queueSize, async (index): Promise<CompletedPart> => {
    const start = index * partSize;
    const result = await client.send(new UploadPartCopyCommand({
      ...upload,
      PartNumber: index + 1,
      CopySource: copy.copySource,
      CopySourceRange: `bytes=${start}-${Math.min(size, start + partSize) - 1}`,
    }));
    return { PartNumber: index + 1, ETag: result.CopyPartResult?.ETag };
  });
}
