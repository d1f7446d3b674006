/** A multipart/form-data body as received (parsed on demand by the route that takes files). */
export interface MultipartBody {
  multipart: Buffer;
  contentType: string;
}

export interface MultipartFile {
  name: string;
  filename: string;
  content: Buffer;
}

/** Reads the file part `field` of a multipart/form-data body (RFC 7578); undefined when absent. */
export function readMultipartFile(body: MultipartBody, field: string): MultipartFile | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(body.contentType);
  const mark = boundary?.[1] ?? boundary?.[2];
  if (!mark) return undefined;
  const delimiter = Buffer.from(`--${mark}`);
  const data = body.multipart;
  let pos = data.indexOf(delimiter);
  while (pos >= 0) {
    let start = pos + delimiter.length;
    if (data.subarray(start, start + 2).toString() === '--') return undefined;
    if (data[start] === 0x0d && data[start + 1] === 0x0a) start += 2;
    const next = data.indexOf(delimiter, start);
    if (next < 0) return undefined;
    const part = data.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      let content = part.subarray(headerEnd + 4);
      if (content.length >= 2 && content[content.length - 2] === 0x0d && content[content.length - 1] === 0x0a) content = content.subarray(0, content.length - 2);
      const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
      if (name === field) return { name, filename: filename ?? '', content };
    }
    pos = next;
  }
  return undefined;
}
